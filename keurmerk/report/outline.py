"""The outline of the static report: chapters and paragraphs in the order of the seed report, with their texts.

The catalogue says which figures exist and in which section (``samenvatting``, ``respons``, ``clienten``,
``opdrachtgevers``, ``inburgering``); this module says how the report groups them into numbered paragraphs and
what it writes around them, following ``seeds/004_*.txt``. Texts are Dutch and may hold ``{aanbieder}`` (the
provider's name). Texts that depend on the numbers are functions of the report's frames (:class:`Facts`);
:mod:`keurmerk.report.document` escapes every text when it writes the HTML.

Every figure of the registry belongs to exactly one paragraph (tests/test_report.py checks it); a figure that a
later catalogue adds and this outline does not name is still drawn, at the end of its section's chapter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from keurmerk.catalog import catalog
from keurmerk.formatting import integer, number, percent
from keurmerk.metrics import norms
from keurmerk.metrics.texts import significance_note, small_group_rule
from keurmerk.policy import Policy

__all__ = ["CHAPTERS", "Chapter", "Facts", "Paragraph", "Text", "SERVICES_TABLE", "period_text"]

SERVICES_TABLE = "table_1_2"  # tabel 1.2 Diensten: from the catalogue, not a figure of the registry


@dataclass(frozen=True)
class Facts:
    """What the texts may say about the data: the provider, the period and the report's frames."""

    provider_name: str
    period: int
    frames: dict[str, pl.DataFrame]
    policy: Policy

    def totals(self) -> dict[str, dict[str, Any]]:
        """Table 1.1's total row per form (client, inburgering, commissioner)."""
        frame = self.frames.get("table_1_1")
        if frame is None or frame.is_empty():
            return {}
        return {r["form"]: r for r in frame.filter(pl.col("service").is_null()).iter_rows(named=True)}

    @property
    def has_inburgering(self) -> bool:
        return "inburgering" in self.totals()

    def funnel(self, audience: str) -> list[dict[str, Any]]:
        """Fig. 1's rows of one audience per mode and reminder at the stage ``invited``."""
        frame = self.frames.get("fig_1")
        if frame is None or frame.is_empty():
            return []
        rows = frame.filter(
            (pl.col("audience") == audience) & pl.col("mode").is_not_null() & (pl.col("stage") == "invited")
        )
        return [r for r in rows.iter_rows(named=True) if r["n"]]


Text = str | Callable[[Facts], str | None]


@dataclass(frozen=True)
class Paragraph:
    """A numbered paragraph: texts, then its blocks (figure ids, or ``table_1_2``) with texts around them."""

    number: str
    title: str
    blocks: tuple[str, ...] = ()
    intro: tuple[Text, ...] = ()
    before: dict[str, tuple[Text, ...]] = field(default_factory=dict)
    after: dict[str, tuple[Text, ...]] = field(default_factory=dict)
    subheads: dict[str, str] = field(default_factory=dict)  # a small heading before a block


@dataclass(frozen=True)
class Chapter:
    key: str
    number: str
    title: str
    sections: tuple[str, ...] = ()  # catalogue sections whose figures belong here
    intro: tuple[Text, ...] = ()
    paragraphs: tuple[Paragraph, ...] = ()
    applies: Callable[[Facts], bool] | None = None  # None: always; else the chapter shows only a notice
    not_applicable: str = ""


# --- texts that depend on the data ------------------------------------------------------------------------------
_MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def period_text(period: int) -> str:
    """'1 januari 2021 tot en met 31 december 2021'."""
    return f"1 {_MONTHS[0]} {period} tot en met 31 {_MONTHS[-1]} {period}"


def _and(parts: list[str]) -> str:
    """'a', 'a en b', 'a, b en c'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " en " + parts[-1]


def _modes_text(rows: list[dict[str, Any]]) -> str:
    labels = list(dict.fromkeys((r["mode_label"] or r["mode"]).lower() for r in rows))
    words = {"e-mail": "per e-mail", "post": "per post", "telefonisch": "telefonisch"}
    return _and([words.get(label, label) for label in labels])


def _invitation_text(facts: Facts) -> str | None:
    rows = facts.funnel("client")
    if not rows:
        return "In deze meetperiode zijn geen cliënten uitgenodigd."
    invited = sum(r["n"] for r in rows)
    reminded = sum(r["n"] for r in rows if r["reminded"])
    text = f"De cliënten zijn {_modes_text(rows)} uitgenodigd ({integer(invited)} uitnodigingen). "
    if reminded == invited:
        text += "Alle cliënten die niet meteen reageerden, hebben een herinnering ontvangen om de respons zo hoog mogelijk te maken."
    elif reminded:
        text += (
            f"Van hen hebben er {integer(reminded)} een herinnering ontvangen om de respons zo hoog mogelijk te maken."
        )
    else:
        text += "Er zijn geen herinneringen verstuurd."
    return text


def _commissioner_invitation_text(facts: Facts) -> str | None:
    rows = facts.funnel("commissioner")
    if not rows:
        return "In deze meetperiode zijn geen opdrachtgevers uitgenodigd."
    modes = {r["mode"] for r in rows}
    only = "uitsluitend " if len(modes) == 1 else ""
    return f"De opdrachtgevers zijn {only}{_modes_text(rows)} benaderd."


def _phone_text(facts: Facts) -> str:
    phone = sum(r["n"] for r in facts.funnel("client") if r["mode"] == "phone")
    if phone:
        return (
            f"{{aanbieder}} heeft gebruikgemaakt van de telefonische optie: {integer(phone)} cliënten zijn "
            "telefonisch benaderd."
        )
    return "{aanbieder} heeft geen gebruikgemaakt van de telefonische optie."


def _inburgering_text(facts: Facts) -> str:
    if facts.has_inburgering:
        return (
            "De vragenlijst voor inburgeraars is dusdanig anders dan die van de overige cliënten dat deze apart "
            "wordt gerapporteerd, in hoofdstuk 5."
        )
    return (
        "De vragenlijst voor inburgeraars is dusdanig anders dan die van de overige cliënten dat deze apart "
        "wordt gerapporteerd. {aanbieder} heeft in deze meetperiode geen inburgeringscliënten aangeleverd."
    )


_WHO = (("client", "cliënten"), ("inburgering", "inburgeraars"), ("commissioner", "opdrachtgever(s)"))


def _response_text(facts: Facts) -> str | None:
    totals = facts.totals()
    rows = [(totals[form], word) for form, word in _WHO if form in totals]
    if not rows:
        return None
    net = _and([f"{integer(r['net_sample'])} {word}" for r, word in rows])
    share = _and([f"{percent(r['response_pct'])} voor {word}" for r, word in rows])
    return (
        f"Voor uw bedrijf zijn in totaal {net} benaderd (netto steekproef). Het aandeel bruikbare vragenlijsten "
        f"(de respons) is {share}."
    )


def _norm_rule(facts: Facts) -> str:
    return norms.norm_explained(facts.policy)


def _publication_text(facts: Facts) -> str:
    return norms.publication_explained(facts.policy)


def _promoter_text(figure_id: str, who: str) -> Callable[[Facts], str | None]:
    def text(facts: Facts) -> str | None:
        frame = facts.frames.get(figure_id)
        if frame is None or "promoter_score" not in frame.columns:
            return None
        own = frame.get_column("promoter_score").drop_nulls()
        if own.len() == 0:
            return f"{who} is ook gevraagd of zij {{aanbieder}} hebben aangeraden bij anderen."
        bench = frame.get_column("bench_promoter_score").drop_nulls()
        line = (
            f"{who} is ook gevraagd of zij {{aanbieder}} hebben aangeraden bij anderen. {{aanbieder}} heeft "
            f"een actuele promotor score van {number(own[0])}"
        )
        line += f" (alle deelnemers: {number(bench[0])})." if bench.len() else "."
        return line + " De promotor score is het percentage dat 'ja' antwoordde."

    return text


def _small_groups(facts: Facts) -> str:
    return small_group_rule(facts.policy) + " Zo blijven antwoorden van individuele cliënten onherkenbaar."


# --- the outline -------------------------------------------------------------------------------------------------
CHAPTERS: tuple[Chapter, ...] = (
    Chapter(
        key="inleiding",
        number="1",
        title="Inleiding",
        paragraphs=(
            Paragraph(
                "1.1",
                "Achtergrond",
                intro=(
                    "Stichting Blik op Werk is een onafhankelijk kwaliteits- en kennisinstituut dat zich inzet om alle "
                    "inwoners van Nederland die willen en kunnen werken een eerlijke kans te bieden op gezond werk. Een "
                    "van de kerntaken die hieraan bijdraagt, is het ontwikkelen en toekennen van het Blik op Werk "
                    "Keurmerk aan organisaties die met hun dienstverlening bewijzen kwaliteit te leveren om duurzame "
                    "arbeidsparticipatie te bevorderen. Het keurmerk helpt cliënten en opdrachtgevers tevens om een "
                    "juiste keuze te maken voor een passende dienstverlening.",
                    "Om voor het Blik op Werk Keurmerk in aanmerking te komen, moeten re-integratie- en "
                    "inburgeringsbedrijven aan verschillende kwaliteitseisen voldoen. Een van deze eisen is het "
                    "uitvoeren van een tevredenheidsonderzoek onder cliënten en opdrachtgevers. In dit rapport staan de "
                    "uitkomsten van dat onderzoek voor {aanbieder}.",
                ),
            ),
            Paragraph(
                "1.2",
                "Keurmerk Blik op Werk",
                intro=(
                    "Om in aanmerking te komen voor het Blik op Werk Keurmerk moet onder andere de norm 'tevredenheid "
                    "klanten' worden gehaald. Deze tevredenheid wordt gemeten met dit klanttevredenheidsonderzoek.",
                    "Het klanttevredenheidsonderzoek is één van de normen van het keurmerk. Heeft u de norm "
                    "klanttevredenheid gehaald, dan biedt dit nog geen garantie dat u het keurmerk gehaald heeft. Op "
                    "basis van de auditrapportage en de uitkomsten van het klanttevredenheidsonderzoek bepaalt Blik op "
                    "Werk of uw organisatie in aanmerking komt voor het Blik op Werk Keurmerk. Aan de resultaten in dit "
                    "onderzoek kunnen geen rechten worden ontleend.",
                ),
            ),
        ),
    ),
    Chapter(
        key="onderzoek",
        number="2",
        title="Onderzoek",
        sections=("respons",),
        paragraphs=(
            Paragraph(
                "2.1",
                "Opzet en uitvoering",
                intro=(
                    lambda f: (
                        "Het tevredenheidsonderzoek van Blik op Werk is uitgevoerd onder cliënten en "
                        "opdrachtgevers. Cliënten die in de periode van " + period_text(f.period) + " een "
                        "traject hebben afgerond, zijn voor dit onderzoek benaderd."
                    ),
                    "De cliëntgegevens voor het onderzoek zijn door de dienstverlener aangeleverd. Deze gegevens zijn "
                    "gecontroleerd op volledigheid; alle bruikbare gegevens zijn in het onderzoek betrokken.",
                ),
                blocks=("fig_1",),
                subheads={"fig_1": "Wijze van benadering"},
                before={
                    "fig_1": (
                        _invitation_text,
                        _commissioner_invitation_text,
                        "Dienstverleners kunnen ook kiezen voor de telefonische optie: dan worden de "
                        "cliënten gebeld. Dit verhoogt de respons, maar brengt ook kosten met zich mee.",
                        _phone_text,
                    )
                },
                after={
                    "fig_1": (
                        "Vragenlijst. Voor elke cliënt kan gekozen worden of de reguliere of de laagdrempelige "
                        "vragenlijst wordt ingezet. De laagdrempelige vragenlijst bevat dezelfde vragen als de reguliere, "
                        "maar in zo eenvoudig mogelijk Nederlands gesteld. Beide tellen op dezelfde manier mee.",
                        _inburgering_text,
                        "Bij dit onderzoek is veel zorg besteed aan het beschermen van de anonimiteit van de cliënten. Het "
                        "is dan ook niet toegestaan om op basis van dit rapport cliënten te benaderen over de door hen "
                        "ingevulde vragenlijst.",
                    )
                },
            ),
            Paragraph(
                "2.2",
                "Leeswijzer",
                intro=(
                    "Dit rapport bespreekt de uitkomsten van het tevredenheidsonderzoek over de meetperiode. Hierbij "
                    "worden de resultaten van {aanbieder} afgezet tegen de resultaten van alle deelnemers aan het Blik "
                    "op Werk tevredenheidsonderzoek ('alle deelnemers', {aanbieder} inbegrepen).",
                    "Hoofdstuk 3 gaat in op de uitkomsten van het onderzoek onder de cliënten, hoofdstuk 4 op die onder "
                    "opdrachtgevers en hoofdstuk 5 op die onder inburgeraars.",
                    "De uitkomsten worden zoveel mogelijk grafisch weergegeven. Onder elke figuur staat het aantal "
                    "personen (n) dat de vraag beantwoord heeft. Dat aantal kan kleiner zijn dan het aantal ingevulde "
                    "vragenlijsten, omdat sommige vragen alleen aan een deel van de respondenten zijn voorgelegd, naar "
                    "aanleiding van een eerder antwoord of van de afgenomen dienst.",
                    lambda facts: significance_note() + " Alle cijfers zijn afgerond op één decimaal.",
                    _small_groups,
                ),
            ),
            Paragraph(
                "2.3",
                "Respons",
                intro=(
                    "In dit rapport is op een paar plaatsen een uitsplitsing gemaakt naar type dienst. In die gevallen "
                    "zijn alleen de resultaten te zien van de diensten waarvoor u cliënten heeft aangeleverd. In "
                    "tabel 1.2 staan de diensten.",
                ),
                blocks=(SERVICES_TABLE, "table_1_1"),
                before={
                    "table_1_1": (
                        _norm_rule,
                        _response_text,
                        "Alleen vragenlijsten waarin tenminste de vragen over de aspecten van de "
                        "dienstverlening zijn ingevuld, zijn opgenomen in de analyses en in dit rapport. "
                        "Onbestelbare en dubbele adressen en adressen met onvolledige gegevens tellen "
                        "niet mee: wat overblijft is de netto steekproef, de basis van de respons.",
                    )
                },
                after={"table_1_1": (_publication_text,)},
            ),
        ),
    ),
    Chapter(
        key="clienten",
        number="3",
        title="Onderzoek onder cliënten",
        sections=("clienten",),
        paragraphs=(
            Paragraph(
                "3.1",
                "Oordeel van cliënten over {aanbieder}",
                blocks=("fig_3_1", "fig_3_2", "fig_3_3"),
                intro=(
                    "Hieronder staat het rapportcijfer dat de cliënten uw bedrijf hebben gegeven, op "
                    "verschillende manieren weergegeven: eerst het gemiddelde in totaal en per dienst, dan de "
                    "spreiding, en tot slot of men {aanbieder} heeft aangeraden aan anderen.",
                ),
                before={
                    "fig_3_2": (
                        "In de volgende figuur is de spreiding van de rapportcijfers weergegeven. Hoe hoger de "
                        "staaf, hoe meer cliënten dit rapportcijfer gegeven hebben.",
                    ),
                    "fig_3_3": (_promoter_text("fig_3_3", "Cliënten"),),
                },
            ),
            Paragraph(
                "3.2",
                "Typering dienstverlening",
                blocks=("fig_3_4",),
                intro=(
                    "Aan cliënten bij wie een diagnose is gesteld (dienst 3), is gevraagd om welk soort onderzoek het "
                    "ging.",
                ),
            ),
            Paragraph(
                "3.3",
                "Aanleiding traject",
                blocks=("fig_3_5",),
                intro=(
                    "De tevredenheid van de cliënten kan beïnvloed worden door de aanleiding voor het traject. Sommige "
                    "cliënten hebben zelf het initiatief genomen, anderen zijn door bijvoorbeeld het UWV verzocht of "
                    "verplicht om een traject te volgen.",
                ),
            ),
            Paragraph(
                "3.4",
                "Contact met {aanbieder}",
                blocks=("fig_3_6", "fig_3_7", "fig_3_8"),
                intro=(
                    "Het contact met {aanbieder} kan op verschillende manieren plaatsvinden: persoonlijk, maar ook "
                    "telefonisch of per e-mail. In deze paragraaf staat hoe vaak men contact gehad heeft met de "
                    "dienstverlener en hoe dat bevallen is.",
                ),
                before={
                    "fig_3_8": (
                        "Een van de belangrijkste aspecten voor het gegeven rapportcijfer is de vraag of "
                        "men al dan niet te maken had met een vaste contactpersoon.",
                    )
                },
            ),
            Paragraph(
                "3.5",
                "Tevredenheid over {aanbieder}",
                blocks=("fig_3_9", "fig_3_10", "fig_3_11"),
                intro=(
                    "Om goed te begrijpen hoe de cliënten de dienstverlening hebben ervaren, is hun een aantal "
                    "aspecten voorgelegd. De cliënt kon over ieder aspect aangeven hoe tevreden hij of zij was. "
                    "Achter elke balk staat het aandeel tevreden: zeer tevreden en tevreden samen, van alle "
                    "antwoorden behalve 'geen mening'.",
                ),
                subheads={"fig_3_9": "Contact", "fig_3_10": "Kantoor", "fig_3_11": "Begeleiding"},
            ),
            Paragraph(
                "3.6",
                "Resultaat traject",
                blocks=("fig_3_12", "fig_3_13", "fig_3_14", "fig_3_15"),
                intro=(
                    "Elk traject wordt aangegaan met de verwachting dat het een bepaald resultaat zal opleveren. In "
                    "deze paragraaf staan de verwachtingen voorafgaand aan het traject en de resultaten.",
                ),
                before={
                    "fig_3_14": (
                        "De vraag of de begeleiding tot werk heeft geleid, is gesteld aan cliënten van "
                        "de diensten outplacement en toeleiding naar werk.",
                    )
                },
            ),
            Paragraph(
                "3.7",
                "Klachtafhandeling",
                blocks=("fig_3_16", "fig_3_17", "fig_3_18"),
                intro=(
                    "Het kan zijn dat cliënten gedurende het traject een klacht hebben gehad. We hebben hen daarom "
                    "gevraagd of zij een klacht hadden en of zij die ook hebben ingediend. Als dat zo is, konden "
                    "zij laten weten of de klacht ook opgelost is.",
                    "Let wel: deze vragen geven nadrukkelijk de perceptie van de cliënten weer. Een cliënt kan "
                    "zelfs een serieuze klacht terloops melden, waarbij deze mogelijk niet als zodanig wordt "
                    "geregistreerd.",
                ),
            ),
            Paragraph(
                "3.8",
                "Achtergrond van de cliënten",
                blocks=("fig_3_19", "fig_3_20", "fig_3_21"),
                intro=(
                    "De achtergrond van uw cliënten kan de resultaten beïnvloeden. Daarom staat die hieronder ook in "
                    "figuren.",
                ),
            ),
        ),
    ),
    Chapter(
        key="opdrachtgevers",
        number="4",
        title="Opdrachtgevers",
        sections=("opdrachtgevers",),
        intro=(
            "Ook de opdrachtgevers van {aanbieder} is gevraagd wat zij van de dienstverlening vinden. Als een cliënt "
            "tegelijk ook de opdrachtgever was (een zelfmelder), dan is hij of zij uitsluitend gevraagd om de "
            "cliëntenvragenlijst in te vullen.",
        ),
        paragraphs=(
            Paragraph(
                "4.1",
                "Totaaloordeel",
                blocks=("fig_4_1", "fig_4_2", "fig_4_3"),
                intro=(
                    "Hieronder staat het rapportcijfer dat de opdrachtgevers uw bedrijf hebben gegeven, te beginnen "
                    "met het gemiddelde rapportcijfer.",
                ),
                before={
                    "fig_4_2": (
                        "In de volgende figuur is de spreiding van de rapportcijfers weergegeven. Hoe hoger de "
                        "staaf, hoe meer opdrachtgevers dit rapportcijfer gegeven hebben.",
                    ),
                    "fig_4_3": (_promoter_text("fig_4_3", "Opdrachtgevers"),),
                },
                after={
                    "fig_4_2": (
                        "Let wel: opdrachtgevers mogen ook cijfers achter de komma geven. In de figuur "
                        "staan afgeronde cijfers; het gemiddelde rapportcijfer kan daardoor afwijken van "
                        "wat u op basis van deze figuur zelf berekent.",
                    )
                },
            ),
            Paragraph(
                "4.2",
                "Beoordeling dienstverlening",
                blocks=("fig_4_4",),
                intro=(
                    "De onderstaande vragen gaan over alle diensten die de opdrachtgever bij {aanbieder} heeft ingekocht. "
                    "Per aspect kon een rapportcijfer van 1 tot 10 worden gegeven (1: heel slecht, 10: heel goed), "
                    "desgewenst met een cijfer achter de komma. Als iets niet van toepassing was, kon het veld leeg "
                    "blijven (n.v.t.).",
                ),
            ),
            Paragraph("4.3", "Klachtafhandeling", blocks=("fig_4_5", "fig_4_6")),
        ),
    ),
    Chapter(
        key="inburgering",
        number="5",
        title="Inburgering",
        sections=("inburgering",),
        intro=(
            "Cliënten van de dienst inburgering (dienst 11) krijgen een eigen vragenlijst. Hun antwoorden worden "
            "daarom apart gerapporteerd en tellen niet mee in hoofdstuk 3.",
        ),
        applies=lambda f: f.has_inburgering,
        not_applicable=(
            "{aanbieder} heeft in deze meetperiode geen inburgeringscliënten aangeleverd. De figuren van "
            "dit hoofdstuk vervallen daarom."
        ),
        paragraphs=(
            Paragraph(
                "5.1",
                "Oordeel van inburgeraars over {aanbieder}",
                blocks=("fig_5_1", "fig_5_2", "fig_5_3"),
                before={"fig_5_3": (_promoter_text("fig_5_3", "Inburgeraars"),)},
            ),
            Paragraph("5.2", "Tevredenheid over de lessen", blocks=("fig_5_4",)),
            Paragraph("5.3", "Klachten", blocks=("fig_5_5",)),
        ),
    ),
)


def chapter_of_section() -> dict[str, Chapter]:
    """Catalogue section → the chapter that shows its figures (``samenvatting``: the front pages)."""
    return {section: chapter for chapter in CHAPTERS for section in chapter.sections}


def placed_figures() -> list[str]:
    """Every block id the outline names, in order (figure ids and ``table_1_2``)."""
    return [b for chapter in CHAPTERS for p in chapter.paragraphs for b in p.blocks]


def unplaced_figures() -> dict[str, list[str]]:
    """Figures of the catalogue outside the front pages that no paragraph names, per section."""
    placed = set(placed_figures())
    missing: dict[str, list[str]] = {}
    for figure in catalog().figures:
        if figure.section != "samenvatting" and figure.id not in placed:
            missing.setdefault(figure.section, []).append(figure.id)
    return missing
