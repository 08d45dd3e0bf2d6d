"""Risk analytics: hourly rollups kept by the chat writer, dashboards, findings, exports."""
