"""An at-scale deployment's `targetCondition` read as IoT Hub reads it: an expression of IoT Hub's query
language for device twins (the WHERE clause of `SELECT * FROM devices`).

The grammar is Microsoft's (MicrosoftDocs/azure-docs articles/iot-hub/iot-hub-devguide-query-language.md,
"Expressions and conditions"): an expression is a constant, an attribute name, a function call
`<function_name> '(' expression ')'`, `<expression> binary_operator <expression>`, an array, or
`'(' <expression> ')'`; constants are `undefined`, `null`, numbers (decimal or `0x` hexadecimal), string
literals and arrays `'[' <constant> [, <constant>]+ ']'`; "String literals are enclosed in single quotes
(apostrophe: ' ) or double quotes (quotation mark: "). Allowed escapes: \\', \\", \\\\, \\uXXXX"; operators
are `+ - * / %`, `AND OR NOT`, `= != < > <= >= <>` (and the twin queries' `IN`/`NIN` with an array, e.g.
`tags.location IN ['US', 'EU']`). A condition that does not parse selects no device the way it was meant to: an
unclosed quote or parenthesis, an operator without its operand or two operands in a row are refused here.

The reader is deliberately lenient where the documents leave room: keywords in any case, any function name,
`[...]` after a property, `/* comments */`, and names read as IoT Edge's lexer of the same language reads them (below);
it refuses only what no reading of the grammar allows.
"""
from __future__ import annotations

import re

# Names: what IoT Edge's own lexer of this language family takes as an identifier - any run of characters but
# `()<>@,;:\\"/[]?={}` and whitespace (Azure/iotedge edge-hub/core/src/Microsoft.Azure.Devices.Routing.Core/grammar/
# GrammarLexer.g4, ID_CHARS), so a property name with `-`, `#` or non-ASCII letters is read as one name, never
# refused. A quote starts a string; `!=` is an operator.
_WORD = re.compile(r"""(?:[^\s()<>@,;:\\"'/\[\]?={}!]|!(?!=))+""")
_NUMBER = re.compile(r"0[xX][0-9A-Fa-f]+|(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_OPERATORS = ("<=", ">=", "<>", "!=", "||", "??", "=", "<", ">", "/")
_WORD_OPERATORS = {"AND", "OR", "IN", "NIN"}
_ESCAPES = {"'", '"', "\\"}
_CLOSERS = {"(": ")", "[": "]"}


class ConditionError(ValueError):
    """What is wrong with a condition, at which character (1-based)."""


def _string_end(text: str, start: int) -> int:
    """The index after the string literal opening at `start`; ConditionError when it is never closed."""
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\":
            nxt = text[i + 1:i + 2]
            if nxt in _ESCAPES:
                i += 2
                continue
            if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[i + 2:i + 6]):
                i += 6
                continue
            raise ConditionError(f"the escape \\{nxt} at character {i + 1} is not one IoT Hub's query language "
                                 "has (\\', \\\", \\\\, \\uXXXX)")
        if text[i] == quote:
            return i + 1
        i += 1
    raise ConditionError(f"the string opened by {quote} at character {start + 1} is never closed")


def _comment_end(text: str, start: int) -> int:
    """The index after the `/* ... */` comment opening at `start`; ConditionError when it is never closed."""
    end = text.find("*/", start + 2)
    if end < 0:
        raise ConditionError(f"the comment opened at character {start + 1} is never closed")
    return end + 2


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, 1-based position) of each token: string, number, name, op, punct."""
    out: list[tuple[str, str, int]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif text.startswith("/*", i):  # a comment, as the lexer above skips them
            i = _comment_end(text, i)
        elif char in "'\"":
            end = _string_end(text, i)
            out.append(("string", text[i:end], i + 1))
            i = end
        elif char in "()[],":
            out.append(("punct", char, i + 1))
            i += 1
        elif (op := next((o for o in _OPERATORS if text.startswith(o, i)), None)) is not None:
            out.append(("op", op, i + 1))
            i += len(op)
        elif (match := _WORD.match(text, i)) is not None:
            word, at = match.group(), i + 1
            i = match.end()
            while len(word) > 1 and word[0] in "+-":  # `-1`, `a -b`: a sign, then the rest
                out.append(("op", word[0], at))
                word, at = word[1:], at + 1
            kind = "op" if word in ("+", "-", "*", "%") else "number" if _NUMBER.fullmatch(word) else "name"
            out.append((kind, word, at))
        else:
            raise ConditionError(f"{char!r} at character {i + 1} is not part of IoT Hub's query language "
                                 "(outside a quoted string)")
    return out


class _Reader:
    def __init__(self, tokens: list[tuple[str, str, int]], length: int) -> None:
        self.tokens, self.at, self.end = tokens, 0, length + 1

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def is_word(self, token: tuple[str, str, int] | None, words: set[str]) -> bool:
        return token is not None and token[0] == "name" and token[1].upper() in words

    def expect_close(self, opener: tuple[str, str, int]) -> None:
        closer = _CLOSERS[opener[1]]
        token = self.peek()
        if token is None:
            raise ConditionError(f"the {opener[1]!r} at character {opener[2]} is never closed")
        if token[1] != closer:
            raise ConditionError(f"{token[1]!r} at character {token[2]}: expected {closer!r} closing the "
                                 f"{opener[1]!r} at character {opener[2]}")
        self.take()

    def expression(self) -> None:
        self.operand()
        while True:
            token = self.peek()
            if token is None or token[1] in (")", "]", ","):
                return
            if self.is_word(token, {"NOT"}) and self.is_word(self.tokens[self.at + 1] if self.at + 1 < len(
                    self.tokens) else None, _WORD_OPERATORS):
                self.take()  # `x NOT IN [...]`, SQL's spelling of NIN
                token = self.peek()
            if token[0] == "op" or self.is_word(token, _WORD_OPERATORS):
                self.take()
                if self.peek() is None:
                    raise ConditionError(f"{token[1]!r} at character {token[2]} has no operand after it")
                self.operand()
                continue
            raise ConditionError(f"{token[1]!r} at character {token[2]} follows an operand without an operator "
                                 "between them (AND, OR, =, <>, ...)")

    def operand(self) -> None:
        token = self.peek()
        if token is None:
            raise ConditionError("an operand is missing at the end")
        if self.is_word(token, {"NOT"}) or token[1] in ("-", "+"):
            self.take()
            if self.peek() is None:
                raise ConditionError(f"{token[1]!r} at character {token[2]} has no operand after it")
            self.operand()
            return
        self.take()
        kind, text, _ = token
        if kind in ("string", "number"):
            return
        if text in ("(", "["):
            if text == "[" and self.peek() is not None and self.peek()[1] == "]":
                self.take()
                return
            self.expression()
            while text == "[" and self.peek() is not None and self.peek()[1] == ",":
                self.take()
                self.expression()
            self.expect_close(token)
            return
        if kind == "name" and not self.is_word(token, _WORD_OPERATORS):
            self.attribute_rest(token)
            return
        raise ConditionError(f"{text!r} at character {token[2]} where an operand (a property such as "
                             "tags.environment, a quoted string, a number) is expected")

    def attribute_rest(self, name: tuple[str, str, int]) -> None:
        token = self.peek()
        if token is not None and token[1] == "(":  # a function call: IS_DEFINED(tags.x)
            self.take()
            if self.peek() is not None and self.peek()[1] == ")":
                self.take()
            else:
                self.expression()
                while self.peek() is not None and self.peek()[1] == ",":
                    self.take()
                    self.expression()
                self.expect_close(token)
        while (token := self.peek()) is not None and (token[1] == "[" or (
                token[0] in ("name", "number") and token[1].startswith("."))):
            self.take()  # `tags.list[0]`, then `.name` continuing the path
            if token[1] == "[":
                self.expression()
                self.expect_close(token)


def condition_problem(text: str) -> str | None:
    """Why `text` is not an expression of IoT Hub's query language, or None when it reads as one."""
    try:
        tokens = _tokens(text)
        reader = _Reader(tokens, len(text))
        if not tokens:
            raise ConditionError("it is empty")
        reader.expression()
        extra = reader.peek()
        if extra is not None:
            raise ConditionError(f"{extra[1]!r} at character {extra[2]} closes nothing")
    except ConditionError as err:
        return str(err)
    return None


def shown_condition(text: str, limit: int = 80) -> str:
    """The condition for an error line: quoted, cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def route_condition_problem(text: str) -> str | None:
    """Why a route's WHERE condition cannot parse, or None. edgeHub reads routes with its own grammar
    (Azure/iotedge edge-hub/core/src/Microsoft.Azure.Devices.Routing.Core/grammar/Route.g4 and GrammarLexer.g4:
    message properties such as `$body.temperature`, functions, `||`/`??`), wider than the twin queries' above,
    so only what that lexer and any parser of it refuse is checked: a string never closed (the lexer's own
    UNTERMINATED_STRING token), an escape other than \\' \\" \\\\ \\uXXXX, a comment never closed, and parentheses
    that do not pair. edgeHub refuses a route that does not parse, and with it the deployment's whole routes map
    ("Error parsing route", EdgeHubConfigParser.cs)."""
    opened: list[int] = []
    i = 0
    try:
        while i < len(text):
            char = text[i]
            if text.startswith("/*", i):
                i = _comment_end(text, i)
            elif char in "'\"":
                i = _string_end(text, i)
            else:
                if char == "(":
                    opened.append(i)
                elif char == ")":
                    if not opened:
                        raise ConditionError(f"')' at character {i + 1} closes nothing")
                    opened.pop()
                i += 1
        if opened:
            raise ConditionError(f"the '(' at character {opened[-1] + 1} is never closed")
    except ConditionError as err:
        return str(err)
    return None
