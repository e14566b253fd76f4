"""The plain JSON API beside the chat: `POST /api/ask` answers a question with `rag ask --json`'s object, and
`/docs` (with `/openapi.json`) documents it.

Gradio's own `/gradio_api/call/ask` needs its event protocol and every argument in order; this route takes
one JSON object with defaults. It runs on the FastAPI app Gradio serves, behind the chat's login (its session
cookie, or HTTP Basic with the same user and password) and a per-address rate limit, and answers every
refusal with a status and a JSON `{"error": "…"}`, never an HTML page or a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, get_type_hints

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, create_model, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rag.errors import RagError
from rag.search import retriever
from rag.search.answer import PASSAGE_JSON, answer
from rag.settings import DEFAULT_K, MAX_K, MAX_QUESTION
from ui.limits import ASK_LIMIT, ASK_WINDOW_S, RateLimit, client_address, logged_in

PATH = "/api/ask"
MAX_BODY = 64 * 1024
"""Largest request body, in bytes: a question and a long history, each character escaped, fit many times over."""

TITLE = "Вопросы по статьям: JSON API"
LOGIN = {"WWW-Authenticate": 'Basic realm="rag", charset="UTF-8"'}
"""Sent with a 401: a browser opening /docs asks for the chat's login."""
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class Filters(BaseModel):
    """Which articles to search, as in the chat's "Фильтры" and `rag ask`'s options; all optional."""

    model_config = ConfigDict(extra="forbid", strict=True)
    since: StrictStr | None = Field(None, description="Only articles dated this day or later (YYYY-MM-DD).")
    until: StrictStr | None = Field(None, description="Only articles dated this day or earlier (YYYY-MM-DD).")
    publisher: StrictStr | None = Field(None, description="Only articles of this publisher (any case).")


class AskRequest(BaseModel):
    """A question, with the number of passages, the earlier questions and the filters."""

    model_config = ConfigDict(extra="forbid", strict=True)
    question: Annotated[StrictStr, Field(max_length=MAX_QUESTION, examples=["Где служат казахстанские миротворцы?"])]
    k: Annotated[StrictInt, Field(ge=1, le=MAX_K)] = DEFAULT_K
    history: list[StrictStr] = Field(default_factory=list, description="The earlier questions of the conversation, "
                                     "oldest first: a follow-up such as «А когда?» is completed from them.")
    filters: Filters = Field(default_factory=Filters)

    @field_validator("question")
    @classmethod
    def not_blank(cls, question: str) -> str:
        if not question.strip():
            raise ValueError("the question is empty")
        return question


Passage = create_model("Passage", __doc__="A passage: `text` is [start, end) of the article `source`.",
                       **{name: (kind, ...) for name, kind in get_type_hints(retriever.Passage).items()
                          if name in PASSAGE_JSON},
                       article=(str, Field(description="Deprecated, goes in 0.2: `title` under its old key.")))
"""A passage as `rag ask --json` gives it, for the docs: the library's `Passage`, its JSON fields only."""


class AskReply(BaseModel):
    """`rag ask --json`'s object (`rag.Answer.to_json`), documented here; `understood` comes only with a
    completed follow-up, `summary` only with an article's summary, `why` only with a decline."""

    question: str
    answer: str | None = Field(description="The key quote, verbatim from the first passage; null: no answer.")
    passages: list[Passage]
    understood: str | None = Field(None, description="The follow-up as searched.")
    summary: dict | None = Field(None, description="The article's summary: title, date, sentences.")
    confidence: float | None = Field(None, description="The no-answer rule's probability (0-1) that the quote "
                                     "answers; null where the model or the question's language has no rule.")
    why: str | None = Field(None, description="Why there is no answer (a decline with a reason only).")


class Problem(BaseModel):
    """Why a request was refused."""

    error: str


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A refusal: the status and `{"error": message}`."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def refusal(request: Request, limit: RateLimit) -> JSONResponse | None:
    """Why the request is refused before its body is read (rate, login, size, type), or None.

    Every request counts against the client's rate limit, whatever it holds, so guessing passwords is
    bounded too."""
    if wait := limit.wait(client_address(request)):
        return error(429, f"too many requests from your address (at most {ASK_LIMIT} in {ASK_WINDOW_S:.0f} s): "
                          f"try again in {math.ceil(wait)} s", {"Retry-After": str(math.ceil(wait))})
    if not logged_in(request):
        return error(401, "log in first: HTTP Basic with the chat's user and password, or the chat's session "
                          "cookie", LOGIN)
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        return error(411, "send the body with a Content-Length")
    if int(declared) > MAX_BODY:
        return error(413, f"the body is over {MAX_BODY} bytes")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return error(415, "send the question as JSON (Content-Type: application/json)")
    return None


def invalid(exc: RequestValidationError) -> JSONResponse:
    """The first problem FastAPI found in the body, as 400 (not JSON) or 422 (not the expected fields)."""
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        return error(400, f"the body is not valid JSON: {first.get('ctx', {}).get('error', first['msg'])}")
    where = ".".join(str(part) for part in first["loc"][1:]) or "the body"
    return error(422, f"{where}: {first['msg']}")


class GuardedRoute(APIRoute):
    """An APIRoute that refuses (`refusal`) before FastAPI reads the body and reports FastAPI's own refusals
    (bad JSON, wrong fields) as `{"error": …}` instead of its `{"detail": …}`."""

    def __init__(self, *args: Any, limit: RateLimit, **kwargs: Any) -> None:
        self.limit = limit  # before APIRoute's __init__, which builds the handler
        super().__init__(*args, **kwargs)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            if (refused := refusal(request, self.limit)) is not None:
                return refused
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return invalid(exc)
            except HTTPException as exc:
                return error(exc.status_code, str(exc.detail))

        return guarded


REFUSALS = {400: "Not JSON.", 401: "Not logged in.", 411: "No Content-Length.", 413: f"Body over {MAX_BODY} bytes.",
            415: "Not application/json.", 422: "Missing, unknown or wrong fields, k out of range, a question over "
            f"{MAX_QUESTION} characters, a bad date or an unknown publisher.", 429: "Too many requests.",
            503: "The index or the model cannot be used now."}


def ask_route(index: str | Path) -> APIRoute:
    """`POST /api/ask` over `index`, with a rate limit of its own."""

    def ask(body: AskRequest) -> JSONResponse:
        """Answer a question about the articles: the key quote (verbatim, with its offsets in the first
        passage's article) and the `k` best passages, or `answer: null` when the articles do not answer it."""
        try:
            reply = answer(body.question, k=body.k, index=index, history=body.history, **body.filters.model_dump())
        except RagError as exc:  # a bad filter is the caller's; a missing or damaged index is the server's
            return error(422 if type(exc) is RagError else 503, str(exc))
        return JSONResponse(reply.to_json())

    return GuardedRoute(PATH, ask, methods=["POST"], limit=RateLimit(ASK_LIMIT, ASK_WINDOW_S),
                        response_model=None, responses={200: {"model": AskReply}} | {
                            status: {"model": Problem, "description": why} for status, why in REFUSALS.items()})


def routes(index: str | Path) -> list[BaseRoute]:
    """The JSON API over `index` and its docs (`/docs`, `/openapi.json`: this API only, not Gradio's
    internals), for the chat's server; the docs need the chat's login too."""
    api = ask_route(index)
    schema = get_openapi(title=TITLE, version="1", routes=[api],
                         description="Answers come as verbatim quotes from the indexed articles, with their sources.")

    def openapi(request: Request) -> Response:
        return JSONResponse(schema) if logged_in(request) else error(401, "log in first", LOGIN)

    def docs(request: Request) -> Response:
        if not logged_in(request):
            return error(401, "log in first", LOGIN)
        return get_swagger_ui_html(openapi_url="openapi.json", title=TITLE)

    return [api, Route("/openapi.json", openapi, methods=["GET"]), Route("/docs", docs, methods=["GET"])]
