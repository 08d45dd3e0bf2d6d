"""`probity evidence verify PACK.zip --key PUBKEY_FILE`: check an evidence pack offline, with
nothing but the ledger's public key(s) — no database, no network.

Exit codes: 0 the pack verifies; 1 it does not (every problem is printed, naming the file or
entry at fault); 2 bad usage (unreadable key file or pack path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from probity.ledger.checkpoint import load_public_key
from probity.ledger.pack import verify_pack

evidence_app = typer.Typer(help="Evidence packs: verify offline.", no_args_is_help=True)
err = Console(stderr=True)


def read_public_keys(path: Path) -> list[str]:
    """One key per line (base64 raw Ed25519 or PEM); a line may start with its key id
    ("<key_id> <key>", as `probity ledger public-key --all` prints). '#' starts a comment."""
    text = path.read_text(encoding="utf-8")
    if "-----BEGIN" in text:
        return [text]
    keys = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            keys.append(line.split()[-1])
    return keys


@evidence_app.command("verify")
def verify(
    pack: Annotated[Path, typer.Argument(help="The evidence pack (.zip)")],
    key: Annotated[Path, typer.Option("--key", help="File with the trusted public key(s)")],
) -> None:
    """Verify an evidence pack against trusted public keys only (keys inside the pack are
    ignored): manifest signature, every file's hash, the signed checkpoint, each entry's hashes
    and inclusion proof, and each attachment's anchor."""
    try:
        keys = [load_public_key(k) for k in read_public_keys(key)]
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] cannot read public key(s) from {key}: {exc}")
        raise typer.Exit(2) from exc
    if not keys:
        err.print(f"[red]error:[/red] no public key in {key}")
        raise typer.Exit(2)
    if not pack.is_file():
        err.print(f"[red]error:[/red] no such file: {pack}")
        raise typer.Exit(2)
    result = verify_pack(pack, keys)
    if result.ok:
        subject = result.subject or {}
        typer.echo(f"{pack.name}: {result.message} "
                   f"({subject.get('kind', 'subject')} {subject.get('id', '')}, tenant "
                   f"{result.checkpoint.tenant if result.checkpoint else '?'}, tree size "
                   f"{result.checkpoint.tree_size if result.checkpoint else '?'})")
        return
    typer.echo(f"{pack.name}: FAILED ({len(result.problems)} problem(s))")
    for problem in result.problems:
        typer.echo(f"  {problem}")
    raise typer.Exit(1)
