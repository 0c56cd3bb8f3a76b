"""certscan demo: the whole pipeline on a built-in simulated landing zone, no cloud needed."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from scanner.report.console import print_summary, print_written
from scanner.report.escape import console as c


def demo(
    output_dir: Annotated[Path, typer.Option("--output-dir", help="Where the reports go.")] = Path("reports/demo"),
    accounts: Annotated[int, typer.Option("--accounts", min=2, max=200, help="Accounts in the simulated Organization.")] = 31,
    save_inventory: Annotated[bool, typer.Option(
        "--save-inventory", help="Also copy the inventory to examples/demo-inventory.json (checked in: "
                                 "`make samples` builds reports/samples/ from it).")] = False,
):
    """Simulate an AWS Organization, a Key Vault and a certificate folder; scan them; write every report."""
    try:
        from scanner.usecases.demo import DEMO_INVENTORY, DemoSize, run_demo, story
    except ModuleNotFoundError as exc:  # moto and the Azure SDK are the demo extra
        raise typer.BadParameter(f"the demo needs {exc.name}: pip install 'certscan[demo]'") from None
    console = Console()
    console.print(f"Building a simulated landing zone: {accounts} AWS accounts x 2 regions, 2 Key Vaults, "
                  "a folder of certificate files ...")
    run = run_demo(DemoSize(accounts=accounts, expired_in_use=min(21, accounts)), output_dir=output_dir,
                   inventory_out=DEMO_INVENTORY if save_inventory else None)
    print_summary(run.report, console)
    console.rule("What the demo shows")
    for line in story(run):
        console.print(c(line))
    print_written([path for paths in run.written.values() for path in paths], console)
    raise typer.Exit(run.gate.exit_code)
