// A team lead watches a conversation live, read-only (the socket's supervisor view).
import { ChatSocket, renderMessage } from "/static/chat-client.js";

const root = document.getElementById("supervise");
const t = { recalled: root.dataset.tRecalled, blocked: root.dataset.tBlocked,
            attempt: root.dataset.tAttempt, reasons: {} };
const list = document.getElementById("messages");
const sock = new ChatSocket({
  convId: Number(root.dataset.conv),
  onFrame: (f) => {
    if (f.type === "message") renderMessage(list, f, "agent", { convId: Number(root.dataset.conv), t });
    list.scrollTop = list.scrollHeight;
  },
});
sock.connect();
