"""The `keurmerk` command line (Typer): generate, ingest, info, and the commands of later issues."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from keurmerk.formatting import integer

app = typer.Typer(
    help="Keurmerk: tevredenheidsonderzoek Blik op Werk — warehouse, cijfers en dashboards.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(width=None if sys.stdout.isatty() else 160)

DbOption = Annotated[Path, typer.Option("--db", help="Pad naar het warehouse (DuckDB-bestand).")]


@contextmanager
def _progress(description: str, total: float | None = None) -> Iterator[Progress]:
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True) as progress:
        progress.add_task(description, total=total)
        yield progress


@app.command()
def generate(
    scale: Annotated[str, typer.Option(help="tiny | demo | national | x10")] = "demo",
    out: Annotated[Path, typer.Option(help="Map voor de importbestanden.")] = Path("data/generated/demo"),
    seed: Annotated[int, typer.Option(help="Zelfde seed, zelfde bestanden.")] = 2021,
    fmt: Annotated[str | None, typer.Option("--format", help="csv of parquet (standaard: per schaal)")] = None,
) -> None:
    """Maak realistische demodata in het importformaat."""
    from keurmerk import synth

    if scale not in synth.SCALES:
        raise typer.BadParameter(
            f"onbekende schaal '{scale}'; kies uit {', '.join(synth.SCALES)}", param_hint="--scale"
        )
    with _progress(f"demodata '{scale}' maken", total=1.0) as progress:
        task = progress.tasks[0].id

        def report(step: str, fraction: float) -> None:
            progress.update(task, description=step, completed=fraction)

        paths = synth.generate(scale, out, seed=seed, fmt=fmt, progress=report)
    for path in paths:
        console.print(f"geschreven: {path} ({integer(path.stat().st_size)} bytes)")


@app.command()
def ingest(
    db: DbOption,
    files: Annotated[
        list[Path] | None, typer.Argument(help="Uitnodigingen- en antwoordenbestanden (CSV, Parquet, XLSX).")
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="Een aangeleverde rij die een geladen rij wijzigt, vervangt die (gelogd) i.p.v. te wachten."
        ),
    ] = False,
    retry: Annotated[
        bool,
        typer.Option("--retry", help="Zonder bestanden: alleen de quarantaine opnieuw proberen (gebeurt ook bij elke lading)."),
    ] = False,
) -> None:
    """Valideer en laad aanleveringen; afgekeurde rijen gaan naar de quarantaine en worden later opnieuw geprobeerd."""
    from keurmerk.ingest import ingest as run_ingest

    if not files and not retry:
        raise typer.BadParameter("geef bestanden, of --retry om alleen de quarantaine opnieuw te proberen")
    with _progress("laden") as progress:
        task = progress.tasks[0].id
        report = run_ingest(
            db, files or [], progress=lambda step: progress.update(task, description=step), replace=replace
        )
    table = Table(title=f"Laadronde {report.load_id} → {db}")
    for column in ("Bestand", "Soort", "Gelezen", "Geladen", "Waarvan nieuw", "Quarantaine", "Opmerking"):
        table.add_column(
            column, justify="right" if column in ("Gelezen", "Geladen", "Waarvan nieuw", "Quarantaine") else "left"
        )
    for t in report.tables:
        table.add_row(
            t.file,
            "onleesbaar" if t.unreadable else t.kind,
            integer(t.rows_read),
            integer(t.rows_loaded),
            integer(t.rows_new),
            integer(t.rows_quarantined),
            t.message,
        )
    if report.tables:
        console.print(table)
    for t in report.tables:
        if t.unreadable:  # one line per file that could not be read, so that no one misses it
            console.print(f"[red]niet geladen: {t.message if t.message.startswith(t.file) else t.file + ': ' + t.message}[/]")
    for note in report.notes:
        console.print(f"[yellow]let op:[/] {note}", soft_wrap=True)
    if report.quarantine.height:
        _print_reasons(report.quarantine)
    if not report.tables and not report.recovered:
        console.print("Quarantaine opnieuw geprobeerd: niets hersteld.")
    if report.nothing_loaded:
        console.print("[bold red]Er kon niets worden geladen.[/]")
        raise typer.Exit(1)
    _write_public_site(db)


def _write_public_site(db: Path) -> None:
    """Every publication also writes the public search (keurmerk.site) beside the warehouse."""
    from keurmerk.site import write_site

    console.print(f"openbare zoekpagina: {write_site(db)}")


quarantine_app = typer.Typer(help="De quarantaine: afgekeurde rijen (alleen velden van het importformaat).")
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("purge")
def quarantine_purge(
    db: DbOption,
    before: Annotated[str, typer.Option("--before", help="Verwijder rijen van laadrondes vóór deze datum (JJJJ-MM-DD).")],
) -> None:
    """Verwijder oude quarantainerijen (bewaartermijn: zie README, import)."""
    import datetime as dt

    from keurmerk.ingest import purge_quarantine

    try:
        date = dt.date.fromisoformat(before)
    except ValueError as exc:
        raise typer.BadParameter(f"geen datum: '{before}' (gebruik JJJJ-MM-DD)", param_hint="--before") from exc
    if not db.exists():
        console.print(f"[red]Geen warehouse op {db}.[/]")
        raise typer.Exit(1)
    removed = purge_quarantine(db, date)
    console.print(f"{integer(removed)} quarantainerijen van vóór {date.isoformat()} verwijderd uit {db}.")


def _print_reasons(quarantine, examples: int = 3) -> None:
    import polars as pl

    summary = (
        quarantine.group_by("file", "column_name", "reason", maintain_order=True)
        .agg(
            pl.len().alias("rows"),
            pl.col("row_number").head(examples).alias("first_rows"),
            pl.col("value").head(1).alias("example"),
        )
        .sort("rows", descending=True)
    )
    table = Table(title="Quarantaine: redenen")
    for column in ("Bestand", "Kolom", "Reden", "Rijen", "Bijvoorbeeld rij", "Waarde"):
        table.add_column(column)
    for row in summary.iter_rows(named=True):
        rows = ", ".join(str(r) for r in row["first_rows"] if r is not None)
        table.add_row(
            row["file"],
            row["column_name"] or "(hele rij)",
            row["reason"],
            integer(row["rows"]),
            rows,
            repr(row["example"][0]) if row["example"] and row["example"][0] is not None else "",
        )
    console.print(table)


@app.command()
def info(db: DbOption) -> None:
    """Wat zit er in een warehouse: perioden, aanbieders, rijen per tabel, de quarantaine."""
    from keurmerk.warehouse import open_readonly, polars_frame

    try:
        con = open_readonly(db)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    with con:
        tables = Table(title=f"Warehouse {db}")
        tables.add_column("Tabel")
        tables.add_column("Rijen", justify="right")
        for name in (
            "providers", "provider_names", "periods", "invitations", "answers", "results", "load_log", "quarantine"
        ):
            tables.add_row(name, integer(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]))
        console.print(tables)
        periods = con.sql(
            "SELECT period, count(DISTINCT provider_id) AS aanbieders, count(*) FILTER (WHERE completed) AS ingevuld, "
            "count(*) FILTER (WHERE status = 'delivered') AS netto FROM invitations GROUP BY period ORDER BY period"
        ).fetchall()
        per = Table(title="Perioden")
        for column in ("Periode", "Aanbieders", "Netto steekproef", "Ingevuld"):
            per.add_column(column, justify="right")
        for period, providers, completed, net in periods:
            per.add_row(str(period), integer(providers), integer(net), integer(completed))
        console.print(per)
        loads = con.sql(
            "SELECT load_id, file, kind, rows_read, rows_loaded, rows_quarantined, message FROM load_log ORDER BY load_id, file"
        ).fetchall()
        log = Table(title="Laadlog")
        for column in ("Ronde", "Bestand", "Soort", "Gelezen", "Geladen", "Quarantaine", "Opmerking"):
            log.add_column(column)
        for load_id, file, kind, read, loaded, quarantined, message in loads:
            log.add_row(str(load_id), file, kind, integer(read), integer(loaded), integer(quarantined), message or "")
        console.print(log)
        quarantine = polars_frame(con.sql("SELECT * FROM quarantine WHERE resolved_load_id IS NULL"))
        if quarantine.height:
            _print_reasons(quarantine)
        else:
            console.print("Quarantaine: leeg (of alles hersteld).")


@app.command()
def export(
    db: DbOption,
    provider: Annotated[str, typer.Option(help="Aanbieder-id, bijvoorbeeld P0000.")],
    period: Annotated[int, typer.Option(help="Meetperiode (jaar).")],
    service: Annotated[int | None, typer.Option(help="Alleen deze dienst (1–13).")] = None,
    province: Annotated[str | None, typer.Option(help="Alleen deze provincie (PV-code of naam).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json | csv | parquet")] = "json",
    out: Annotated[Path | None, typer.Option(help="Bestand (json) of map (csv, parquet).")] = None,
) -> None:
    """Schrijf de cijfers van elke figuur van één aanbieder (formaat: docs/export-format.md)."""
    from keurmerk.export import export as run_export

    try:
        written = run_export(db, provider, period, service=service, province=province, fmt=fmt, out=out)
    except (LookupError, ValueError, FileNotFoundError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    if out is None and fmt == "json":
        print(written)
    else:
        console.print(f"geschreven: {written}")


@app.command()
def report(
    db: DbOption,
    period: Annotated[int, typer.Option(help="Meetperiode (jaar).")],
    provider: Annotated[str | None, typer.Option(help="Aanbieder-id, bijvoorbeeld P0000.")] = None,
    all_providers: Annotated[
        bool, typer.Option("--all", help="Alle aanbieders van de periode, parallel, met een indexpagina.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="html | pdf")] = "html",
    out: Annotated[Path, typer.Option(help="Map voor de rapporten.")] = Path("rapporten"),
    workers: Annotated[int | None, typer.Option(help="Werkprocessen bij --all (standaard: alle kernen).")] = None,
) -> None:
    """Schrijf het rapport van één aanbieder (--provider) of van alle aanbieders (--all), als HTML of PDF."""
    from keurmerk.report import FORMATS

    if fmt not in FORMATS:
        raise typer.BadParameter(f"kies uit {', '.join(FORMATS)}", param_hint="--format")
    if (provider is None) == (not all_providers):
        raise typer.BadParameter("geef --provider ID of --all (niet allebei)", param_hint="--provider")
    if not db.exists():
        console.print(f"[red]Geen warehouse op {db}.[/]")
        raise typer.Exit(1)
    if provider is not None:
        from keurmerk.report import write_report

        with _progress(f"rapport {provider} {period} ({fmt})"):
            try:
                path = write_report(db, provider, period, out=out, fmt=fmt)
            except (LookupError, RuntimeError) as exc:
                console.print(f"[red]{exc}[/]")
                raise typer.Exit(1) from exc
        console.print(f"geschreven: {path} ({integer(path.stat().st_size)} bytes)")
        return

    from keurmerk.report.batch import write_all_with_bar

    result = write_all_with_bar(console, f"rapporten {period} ({fmt})", db, period, out=out, fmt=fmt, workers=workers)
    console.print(
        f"{integer(len(result.written))} van {integer(len(result.results))} rapporten geschreven naar {result.out} "
        f"in {result.seconds:.1f} s met {result.workers} werkprocessen; index: {result.index}"
    )
    if result.failures:
        table = Table(title=f"Mislukt: {integer(len(result.failures))}")
        for column in ("Aanbieder", "Naam", "Reden"):
            table.add_column(column)
        for failure in result.failures:
            table.add_row(failure.provider_id, failure.name, failure.error or "")
        console.print(table)
        raise typer.Exit(1)


@app.command()
def serve(
    db: DbOption,
    port: Annotated[int, typer.Option(help="Poort op 127.0.0.1.")] = 8866,
    pool_size: Annotated[
        int | None,
        typer.Option(
            help="Voorverwarmde kernels per dashboard. Standaard: het aanbiedersdashboard een derde van "
            "--max-kernels (hoogstens 10 per processorkern), de andere 1."
        ),
    ] = None,
    max_kernels: Annotated[
        int | None,
        typer.Option(
            help="Hoogstens zoveel kernels tegelijk, de pool meegeteld; daarboven krijgt een bezoeker een "
            "'het is even druk'-pagina. Standaard: (geheugen − 1 GB) / 400 MB, minstens 3."
        ),
    ] = None,
    site: Annotated[
        Path | None, typer.Option(help="Map van de openbare zoekpagina (standaard: naast het warehouse, <db>.zoeken).")
    ] = None,
    base_url: Annotated[str, typer.Option(help="Voorvoegsel van alle adressen, bv. /w1/ achter nginx.")] = "/",
) -> None:
    """Serveer de dashboards en de openbare zoekpagina op 127.0.0.1 (TLS hoort bij de reverse proxy)."""
    from keurmerk.serve import default_max_kernels, default_pool_size
    from keurmerk.serve import serve as run_serve

    if not db.exists():
        console.print(f"[red]Geen warehouse op {db}. Maak er een met `keurmerk ingest --db {db} …`.[/]")
        raise typer.Exit(1)
    if not (base_url.startswith("/") and base_url.endswith("/")):
        raise typer.BadParameter("begint en eindigt met /", param_hint="--base-url")
    budget = max_kernels if max_kernels is not None else default_max_kernels()
    # never a token here: whatever serve prints ends up in logs
    print(
        f"Openbare zoekpagina: http://127.0.0.1:{port}{base_url}zoeken/\n"
        f"Hoogstens {budget} kernels tegelijk (pool: "
        f"{pool_size if pool_size is not None else default_pool_size(budget)} per dashboard"
        f"{'' if pool_size is not None else ' voor aanbieders, 1 voor de andere'}).\n"
        "Persoonlijke links maakt u met `keurmerk link --provider ID` (aanbieder, 30 dagen) of "
        "`keurmerk link --staff` (medewerkers, 12 uur).",
        flush=True,
    )
    try:
        run_serve(db, port=port, pool_size=pool_size, max_kernels=budget, site_dir=site, base_url=base_url)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc


@app.command()
def site(
    db: DbOption,
    out: Annotated[Path, typer.Option(help="Map voor de statische zoekpagina (HTML, CSS, JS en de gegevens: data.json en een bestand per periode).")],
) -> None:
    """Schrijf de openbare zoekpagina als statische site: alleen gepubliceerde cijfers, voor elke webserver."""
    from keurmerk.site import write_site

    if not db.exists():
        console.print(f"[red]Geen warehouse op {db}.[/]")
        raise typer.Exit(1)
    written = write_site(db, out)
    console.print(f"geschreven: {written}/index.html (gegevens: {written}/data.json)")


@app.command()
def link(
    provider: Annotated[str | None, typer.Option(help="Aanbieder-id, bijvoorbeeld P0000.")] = None,
    days: Annotated[
        float | None, typer.Option(help="Geldigheid in dagen (standaard 30 voor een aanbieder, 0,5 voor medewerkers).")
    ] = None,
    staff: Annotated[
        bool,
        typer.Option(
            "--staff",
            help="Medewerkerslink (alle aanbieders, benchmarkverkenner, 12 uur); met --provider een korte link "
            "(2 uur) naar alleen die aanbieder.",
        ),
    ] = False,
    base_url: Annotated[
        str, typer.Option(help="Adres waarop `keurmerk serve` bereikbaar is.")
    ] = "http://127.0.0.1:8866",
    dashboard: Annotated[
        str | None,
        typer.Option(help="Dashboard-notebook (zonder .ipynb); standaard aanbieder, of benchmark bij --staff zonder --provider."),
    ] = None,
) -> None:
    """Druk een persoonlijke, ondertekende en verlopende link af."""
    from keurmerk.access import link_url, make_token

    if not staff and not provider:
        raise typer.BadParameter("geef --provider, of --staff voor een medewerkerslink", param_hint="--provider")
    if days is not None and not days > 0:
        raise typer.BadParameter("moet groter zijn dan 0", param_hint="--days")
    if dashboard is None:
        dashboard = "benchmark" if staff and not provider else "aanbieder"
    if staff and provider:
        # staff opening one provider get a short staff link bound to it (read-only), as from the staff page
        from keurmerk.access import OPENED_BY_STAFF_DAYS

        token = make_token(provider, role="staff", days=days or OPENED_BY_STAFF_DAYS)
    else:
        token = make_token(provider, role="staff" if staff else "provider", days=days)
    print(link_url(base_url, dashboard, token))


reactions_app = typer.Typer(help="Hoor en wederhoor: reacties van aanbieders op hun resultaten.", no_args_is_help=True)
app.add_typer(reactions_app, name="reactions")


@reactions_app.command("list")
def reactions_list(
    db: DbOption,
    status: Annotated[
        str | None, typer.Option(help="open (nog niet beslist) | ontvangen | in_behandeling | toegekend | afgewezen")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="json | csv")] = "json",
    store: Annotated[
        Path | None, typer.Option(help="De reactiestore (standaard: $KEURMERK_REACTIONS of naast het warehouse).")
    ] = None,
) -> None:
    """Alle reacties (hoor en wederhoor), de open eerst, met status en antwoord: voor medewerkers."""
    from keurmerk.reactions import ReactionStore, provider_names, store_path, write_list

    if fmt not in ("json", "csv"):
        raise typer.BadParameter("kies uit json, csv", param_hint="--format")
    found = ReactionStore(store or store_path(db))
    names: dict[str, str] = {}
    if db.exists():
        from keurmerk.warehouse import open_readonly

        with open_readonly(db) as con:
            names = provider_names(con)
    try:
        reactions = found.listing(status)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--status") from exc
    write_list(reactions, fmt, sys.stdout, names)


@reactions_app.command("backup")
def reactions_backup(
    db: DbOption,
    out: Annotated[Path, typer.Option(help="Het bestand voor de kopie, bijvoorbeeld backup/reacties-2026-12-01.sqlite.")],
    store: Annotated[
        Path | None, typer.Option(help="De reactiestore (standaard: $KEURMERK_REACTIONS of naast het warehouse).")
    ] = None,
) -> None:
    """Maak een consistente kopie van de reactiestore, ook terwijl dashboards erin schrijven."""
    from keurmerk.reactions import ReactionStore, store_path

    try:
        written = ReactionStore(store or store_path(db)).backup(out)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    console.print(f"geschreven: {written} ({integer(written.stat().st_size)} bytes)")


if __name__ == "__main__":
    app()
