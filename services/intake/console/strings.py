"""The console's words in each language it speaks, and which one a browser gets."""

from collections.abc import Mapping

from shared.vocabulary import Priority, Team, TicketStatus

DEFAULT_LANGUAGE = "en"

_EN: dict[str, str] = {
    "title": "Switchboard operator console",
    "skip": "Skip to the board",
    "language": "Language",
    "sign_in": "Sign in",
    "sign_in_help": "Paste an agent's API key. It is sent once and never kept in this page.",
    "api_key": "Agent API key",
    "sign_out": "Sign out",
    "signed_in_as": "Signed in as",
    "refused": "That key was refused: it is unknown or not an agent's.",
    "connection": "Connection",
    "live": "live",
    "reconnecting": "reconnecting…",
    "board": "Open tickets",
    "board_help": "By status; the newest first. Clocks count down to the next SLA deadline.",
    "filter_priority": "Priority",
    "filter_team": "Team",
    "all": "All",
    "ticket": "Ticket",
    "customer": "Customer",
    "summary": "Summary",
    "priority": "Priority",
    "team": "Team",
    "due": "Next deadline",
    "breached": "SLA breached",
    "overdue": "overdue",
    "no_tickets": "No open tickets.",
    "first_response_due": "first response",
    "next_update_due": "update",
    "resolution_due": "resolution",
    "incidents": "Open incidents",
    "no_incidents": "No open incidents.",
    "severity": "Severity",
    "declared": "Declared",
    "affected": "Affected",
    "notified": "Notified",
    "delivered": "Delivered",
    "failed": "Failed",
    "pending": "Pending",
    "linked": "Linked tickets",
    "dead_letters": "Dead letters",
    "dead_letters_help": "The newest messages that could not be processed.",
    "no_dead_letters": "No dead letters.",
    "offset": "Offset",
    "source": "From",
    "error": "Error",
    "when": "When",
    "type": "Type",
    "lag": "Consumer lag",
    "lag_help": "Messages each consumer group has yet to process, summed over partitions.",
    "group": "Group",
    "topic": "Topic",
    "behind": "Behind",
    "no_groups": "No consumer groups yet.",
    "timeline": "Timeline",
    "timeline_help": "Select a ticket to see its events and what became of each notification.",
    "close": "Close",
    "delivery": "delivery",
    "updated": "updated",
}

_ES: dict[str, str] = {
    "title": "Consola de operaciones de Switchboard",
    "skip": "Ir al tablero",
    "language": "Idioma",
    "sign_in": "Entrar",
    "sign_in_help": "Pegue la clave API de un agente. Se envía una vez y la página no la guarda.",
    "api_key": "Clave API de agente",
    "sign_out": "Salir",
    "signed_in_as": "Sesión de",
    "refused": "Clave rechazada: no existe o no es de un agente.",
    "connection": "Conexión",
    "live": "en directo",
    "reconnecting": "reconectando…",
    "board": "Tickets abiertos",
    "board_help": (
        "Por estado; los más recientes primero. Los relojes cuentan hasta el próximo plazo."
    ),
    "filter_priority": "Prioridad",
    "filter_team": "Equipo",
    "all": "Todos",
    "ticket": "Ticket",
    "customer": "Cliente",
    "summary": "Resumen",
    "priority": "Prioridad",
    "team": "Equipo",
    "due": "Próximo plazo",
    "breached": "SLA incumplido",
    "overdue": "vencido",
    "no_tickets": "No hay tickets abiertos.",
    "first_response_due": "primera respuesta",
    "next_update_due": "actualización",
    "resolution_due": "resolución",
    "incidents": "Incidencias abiertas",
    "no_incidents": "No hay incidencias abiertas.",
    "severity": "Gravedad",
    "declared": "Declarada",
    "affected": "Afectados",
    "notified": "Notificados",
    "delivered": "Entregados",
    "failed": "Fallidos",
    "pending": "Pendientes",
    "linked": "Tickets vinculados",
    "dead_letters": "Mensajes fallidos",
    "dead_letters_help": "Los últimos mensajes que no se pudieron procesar.",
    "no_dead_letters": "No hay mensajes fallidos.",
    "offset": "Offset",
    "source": "Origen",
    "error": "Error",
    "when": "Cuándo",
    "type": "Tipo",
    "lag": "Retraso de los consumidores",
    "lag_help": "Mensajes que cada grupo de consumidores aún debe procesar, sumando particiones.",
    "group": "Grupo",
    "topic": "Tópico",
    "behind": "Pendientes",
    "no_groups": "Aún no hay grupos de consumidores.",
    "timeline": "Historial",
    "timeline_help": "Elija un ticket para ver sus eventos y qué fue de cada notificación.",
    "close": "Cerrar",
    "delivery": "entrega",
    "updated": "actualizado",
}

_STATUS_ES = {
    TicketStatus.OPENED: "abierto",
    TicketStatus.TRIAGED: "clasificado",
    TicketStatus.INVESTIGATING: "en investigación",
    TicketStatus.WAITING_ON_CUSTOMER: "esperando al cliente",
    TicketStatus.DEVELOPMENT: "en desarrollo",
    TicketStatus.FIX_IN_PROGRESS: "corrección en curso",
    TicketStatus.TESTING: "en pruebas",
    TicketStatus.DEPLOYED: "desplegado",
    TicketStatus.AWAITING_CONFIRMATION: "esperando confirmación",
    TicketStatus.RESOLVED: "resuelto",
    TicketStatus.CLOSED: "cerrado",
}
_TEAM_ES = {
    Team.LEVEL_1: "soporte de nivel 1",
    Team.LEVEL_2: "soporte de nivel 2",
    Team.TELECOM_ENGINEERING: "ingeniería de telecomunicaciones",
    Team.NUMBERING: "numeración",
    Team.PROVISIONING: "aprovisionamiento",
    Team.INCIDENT: "incidencias",
    Team.DEVELOPMENT: "desarrollo",
}
_SEVERITY_ES = {"critical": "crítica", "major": "grave", "minor": "leve"}
_SEVERITY_EN = {"critical": "critical", "major": "major", "minor": "minor"}


def _english_words(value: str) -> str:
    return value.replace("_", " ")


def _vocabulary(language: str) -> dict[str, str]:
    spanish = language == "es"
    words: dict[str, str] = {}
    for status in TicketStatus:
        words[f"status.{status.value}"] = (
            _STATUS_ES[status] if spanish else _english_words(status.value)
        )
    for team in Team:
        words[f"team.{team.value}"] = _TEAM_ES[team] if spanish else _english_words(team.value)
    for priority in Priority:
        words[f"priority.{priority.value}"] = priority.value.upper()
    for severity, word in (_SEVERITY_ES if spanish else _SEVERITY_EN).items():
        words[f"severity.{severity}"] = word
    return words


TABLES: Mapping[str, dict[str, str]] = {
    "en": {**_EN, **_vocabulary("en")},
    "es": {**_ES, **_vocabulary("es")},
}
LANGUAGES = {"en": "English", "es": "Español"}


def language_for(asked: str | None, accept_language: str | None) -> str:
    """The language asked for by name, else the first the browser accepts that we speak."""
    if asked is not None and asked in TABLES:
        return asked
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in TABLES:
            return primary
    return DEFAULT_LANGUAGE
