"""`hazwatch console hash-password`: a password hash for the console users file."""

from __future__ import annotations

import typer

from collector.app.cli.app import EXIT_BAD_CONFIG, app, console, err_console

console_app = typer.Typer(help="the operators' alarm console (served by `hazwatch run --api-port P --users FILE`)")
app.add_typer(console_app, name="console")


@console_app.command("hash-password")
def hash_password_command(
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True, help="the password"),
) -> None:
    """Print a scrypt hash to paste into the users file as `password_hash`."""
    from collector.console.users import hash_password

    try:
        console.print(hash_password(password), highlight=False, soft_wrap=True)
    except ValueError as exc:
        err_console.print(f"[bold red]refused[/]: {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from None
