"""The words the offline scripts show, translated on the server and handed to the page as JSON."""

from __future__ import annotations

from flask_babel import gettext as _


def offline_strings() -> dict[str, str]:
    """Return the status bar's and the offline form's words in the page language."""
    return {
        "online": _("Online"),
        "offline": _("Offline"),
        "waiting_one": _("%(n)s encounter waiting to send"),
        "waiting_other": _("%(n)s encounters waiting to send"),
        "nothing_waiting": _("Nothing waiting to send"),
        "last_sync": _("Last sent %(time)s"),
        "never_synced": _("Nothing sent from this tablet yet"),
        "log_in_to_send_one": _("Log in to send %(n)s encounter"),
        "log_in_to_send_other": _("Log in to send %(n)s encounters"),
        "conflict": _("Changed elsewhere: open"),
        "rejected": _("Needs fixing: open"),
        "conflict_help": _(
            "This record was changed on the server since you opened it. Check it, then finalize "
            "again to replace the server's version."
        ),
        "rejected_help": _("The server did not accept this record. Fix what is listed, then finalize again."),
        "logout_unsent_one": _(
            "%(n)s encounter is not sent yet. It stays on this tablet and is sent when you log "
            "in again. Log out anyway?"
        ),
        "logout_unsent_other": _(
            "%(n)s encounters are not sent yet. They stay on this tablet and are sent when "
            "you log in again. Log out anyway?"
        ),
        "queued": _("Finalized. It is saved on this tablet and is sent as soon as there is a connection."),
        "sent": _("Finalized and sent."),
        "restored": _("Your unfinished draft from %(time)s is back."),
        "start_blank": _("Start a blank form instead"),
        "start_blank_others": _("Start a blank form instead (%(n)s more drafts on this tablet)"),
        "saved_here": _(
            "No connection: the draft is saved on this tablet. You can finalize offline; it is sent "
            "when the connection returns."
        ),
        "login_to_save": _(
            "You are logged out. The draft is saved on this tablet: log in to save it on the server."
        ),
        "fix_these": _("Fix these before finalizing"),
        "check_these": _("Check these, then tick each one and finalize again"),
        "i_checked": _("I checked this:"),
    }
