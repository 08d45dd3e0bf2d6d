from pathlib import Path

WEB_DIR = Path(__file__).parent
