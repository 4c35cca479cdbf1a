"""The login and logout pages: ``GET``/``POST /ui/login`` and ``POST /ui/logout``.

**Login CSRF.** Before anyone is logged in there is no session to bind a CSRF token to, so the
login form gets one of its own: ``GET /ui/login`` sets a random pre-login cookie
(``mlc_login``: HttpOnly, SameSite=Strict, only sent to ``/ui/login``) and renders the form
with a token that is an HMAC of it under a key the vault derives for this purpose. A ``POST``
whose token does not match its cookie is refused with 403 before anything is counted, checked
or stored, so another site cannot log a victim's browser into an account of its choosing.

**Answers.** A wrong email or password is 401 with one message for both; a throttled attempt
is 429 with ``Retry-After``. A successful login sets the session cookie and the trusted-device
cookie (``app/login_throttle.py``), drops the pre-login cookie, and redirects (303) to ``next``
when it is a dashboard path, else to ``/ui``. Logging out ends the session in the store (every
process refuses the cookie from then on) and is logged with the client address.
"""

from __future__ import annotations

import math
import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.vault import Vault
from ml_connector.web.auth import (
    CSRF_FIELD,
    DEVICE_COOKIE,
    SESSION_COOKIE,
    Auth,
    LoginRefused,
    Principal,
)
from ml_connector.web.pages import Pages, redirect

__all__ = ["LOGIN_COOKIE", "LOGIN_CSRF_LABEL", "login_routes"]

LOGIN_COOKIE = "mlc_login"
LOGIN_CSRF_LABEL = "ml-connector login csrf v1"
_LOGIN_PATH = "/ui/login"


def _safe_target(target: str) -> str:
    """``target`` when it is a dashboard path, else ``/ui``: never a redirect off-site."""
    if not target.startswith("/ui") or target.startswith("//") or "\\" in target:
        return "/ui"
    return target


class LoginForms:
    """Issues and checks the login form's CSRF token (module docstring)."""

    def __init__(self, vault: Vault, auth: Auth) -> None:
        self._key = vault.purpose_key(LOGIN_CSRF_LABEL)
        self._auth = auth

    def nonce(self, request: Request) -> tuple[str, bool]:
        """The browser's pre-login nonce, and whether it is new (to be set as a cookie)."""
        current = request.cookies.get(LOGIN_COOKIE, "")
        if 16 <= len(current) <= 64 and current.isascii():
            return current, False
        return secrets.token_urlsafe(24), True

    def token(self, nonce: str) -> str:
        return self._key.sign(nonce.encode("ascii"))

    def valid(self, request: Request, sent: object) -> bool:
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not isinstance(sent, str) or not nonce or not nonce.isascii() or len(nonce) > 64:
            return False
        return self._key.verify(nonce.encode("ascii"), sent)

    def set_nonce(self, response: Response, nonce: str) -> None:
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            httponly=True,
            secure=self._auth.secure_cookies,
            samesite="strict",
            path=_LOGIN_PATH,
        )


def login_routes(pages: Pages, auth: Auth) -> list[Route]:
    """The login form, its submission, and logout."""
    forms = LoginForms(pages.runtime.vault, auth)

    def form_page(request: Request, target: str, status: int = 200, error: str = "") -> Response:
        nonce, new = forms.nonce(request)
        response = pages.render(
            request,
            "login.html",
            None,
            status,
            error=error,
            next=target,
            login_csrf=forms.token(nonce),
        )
        if new:
            forms.set_nonce(response, nonce)
        return response

    async def login_form(request: Request) -> Response:
        return form_page(request, _safe_target(request.query_params.get("next", "/ui")))

    async def login(request: Request) -> Response:
        form = await pages.form(request)
        target = _safe_target(str(form.get("next", "/ui")))
        if not forms.valid(request, form.get(CSRF_FIELD)):
            return form_page(request, target, 403, "The login form expired; please try again.")
        email, password = str(form.get("email", "")), str(form.get("password", ""))
        try:
            result = await auth.login(
                email, password, auth.client(request), request.cookies.get(DEVICE_COOKIE)
            )
        except LoginRefused as exc:
            response = form_page(request, target, 429 if exc.throttled else 401, exc.message)
            if exc.throttled:
                response.headers["retry-after"] = str(max(1, math.ceil(exc.retry_after_s)))
            return response
        previous = request.cookies.get(SESSION_COOKIE)
        if previous:  # a browser logging in again leaves no older session behind
            await auth.sessions.end(previous)
        response = redirect(target)
        response.set_cookie(SESSION_COOKIE, result.session_cookie, **auth.cookie_options())
        if result.device_cookie is not None:
            options = {**auth.cookie_options(auth.throttle.device_max_age_s)}
            options.update(path=_LOGIN_PATH, samesite="strict")
            response.set_cookie(DEVICE_COOKIE, result.device_cookie, **options)
        response.delete_cookie(LOGIN_COOKIE, path=_LOGIN_PATH)
        return response

    async def logout(request: Request, principal: Principal) -> Response:
        await auth.logout(request.cookies.get(SESSION_COOKIE, ""), principal, auth.client(request))
        response = redirect(_LOGIN_PATH)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return [
        Route(_LOGIN_PATH, login_form, methods=["GET"]),
        Route(_LOGIN_PATH, login, methods=["POST"]),
        Route("/ui/logout", pages.page(logout), methods=["POST"]),
    ]
