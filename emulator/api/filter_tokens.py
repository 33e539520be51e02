"""Tokenizer shared by the Monitoring and Logging filter parsers."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.api.errors import RpcError, invalid

# longest first so ">=" wins over ">"
_OPERATORS = ("!=", ">=", "<=", "=~", "!~", "=", ">", "<", ":", "(", ")", ",")
_WORD_EXTRA = "._-/%*@+"


@dataclass(frozen=True)
class Token:
    kind: str  # "str" (quoted), "word" (bare), "op", "end"
    text: str
    pos: int


def tokenize(text: str, error: type[Exception] | None = None) -> list[Token]:
    """Split a filter into tokens; quoted strings have their escapes resolved."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == '"':
            start = i
            i += 1
            buf: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    nxt = text[i + 1]
                    buf.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
                    i += 2
                    continue
                buf.append(text[i])
                i += 1
            if i >= n:
                raise syntax_error(text, start, "unterminated string")
            i += 1
            tokens.append(Token("str", "".join(buf), start))
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token("op", op, i))
            i += len(op)
            continue
        if c.isalnum() or c in _WORD_EXTRA:
            start = i
            while i < n and (text[i].isalnum() or text[i] in _WORD_EXTRA):
                i += 1
            tokens.append(Token("word", text[start:i], start))
            continue
        raise syntax_error(text, i, f"unexpected character {c!r}")
    tokens.append(Token("end", "", n))
    return tokens


def syntax_error(text: str, pos: int, why: str) -> RpcError:
    return invalid(f'Field filter had an invalid value of "{text}": {why} at position {pos + 1}.')


class Cursor:
    """A read position in a token list."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        t = self.tokens[self.i]
        if t.kind != "end":
            self.i += 1
        return t

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.text in words

    def expect_op(self, op: str) -> None:
        if not self.is_op(op):
            raise self.error(f"expected {op!r}")
        self.take()

    def error(self, why: str) -> RpcError:
        t = self.tok
        found = "end of filter" if t.kind == "end" else repr(t.text)
        return syntax_error(self.text, t.pos, f"{why}, found {found}")
