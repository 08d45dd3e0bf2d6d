"""`probity webhooks …` commands."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

webhooks_app = typer.Typer(help="Webhooks: a local receiver for demos and testing.",
                           no_args_is_help=True)
console = Console()


@webhooks_app.command("listen")
def listen(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8099,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default)")] =
        "127.0.0.1",
    secret: Annotated[str | None, typer.Option(
        help="The endpoint's signing secret (whsec_…, shown on /webhooks): signatures are "
             "checked with it", envvar="PROBITY_WEBHOOK_LISTEN_SECRET")] = None,
) -> None:
    """Receive webhook deliveries here and print each one (air-gapped demos). Point an
    endpoint at http://127.0.0.1:PORT/ and allow loopback for webhooks
    (PROBITY_WEBHOOK_ALLOWED_NETWORKS='["127.0.0.1/32"]'); see README, "Webhooks"."""
    from probity.webhooks.listen import make_server

    server = make_server(host, port, secret, lambda line: console.print(line, markup=False))
    console.print(f"listening on http://{host}:{server.server_address[1]}/ "
                  f"({'checking signatures' if secret else 'no --secret: not checking'}); "
                  "Ctrl-C stops", markup=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
