using System.Globalization;
using System.Text;
using Pronto.Core.Errors;

namespace Pronto.Core.Configuration;

/// <summary>
/// Tokenizer and schema-free recursive-descent parser for protobuf text format, as written in Triton's
/// <c>config.pbtxt</c>. It accepts both the strict and the lenient spellings found in real repositories
/// (<c>input [ {..} ]</c> without a colon, <c>key: { }</c>, <c>&lt; &gt;</c> messages, optional <c>,</c>/<c>;</c>).
/// </summary>
internal sealed class TextFormatReader
{
    /// <summary>Configs are shallow; the cap only stops a hostile file from overflowing the stack.</summary>
    private const int MaxDepth = 64;

    private readonly string _text;
    private readonly string _source;
    private int _pos;
    private int _line = 1;
    private int _lineStart;
    private Token _current;

    private TextFormatReader(string text, string source)
    {
        _text = text;
        _source = source;
        _current = Scan();
    }

    private enum TokenKind
    {
        End,
        Identifier,
        Number,
        String,
        Symbol,
    }

    /// <summary>Parses a whole document into its top-level fields.</summary>
    public static IReadOnlyList<TextField> Read(string text, string source)
    {
        var reader = new TextFormatReader(text, source);
        return reader.ReadFields(closer: '\0', opener: null, depth: 0);
    }

    /// <summary>The one way errors are reported, so every message carries the same file/line/column prefix.</summary>
    public static ProntoException Error(string source, int line, int column, string message) =>
        new(ErrorCode.InvalidArgument, $"{source} line {line}, column {column}: {message}");

    private List<TextField> ReadFields(char closer, Token? opener, int depth)
    {
        if (depth > MaxDepth)
        {
            throw Error(_source, opener!.Value.Line, opener.Value.Column, $"messages nested deeper than {MaxDepth} levels");
        }

        var fields = new List<TextField>();
        while (true)
        {
            var token = _current;
            if (token.Kind == TokenKind.End)
            {
                if (opener is { } open)
                {
                    throw Error(_source, token.Line, token.Column,
                        $"expected '{closer}' to close the message opened at line {open.Line}, column {open.Column}, found end of input");
                }

                return fields;
            }

            if (opener is not null && token.IsSymbol(closer))
            {
                Advance();
                return fields;
            }

            if (token.Kind != TokenKind.Identifier)
            {
                var wanted = opener is null ? "a field name" : $"a field name or '{closer}'";
                throw Error(_source, token.Line, token.Column, $"expected {wanted}, found {Describe(token)}");
            }

            Advance();
            ReadField(token, fields, depth);

            // Separators between fields are optional in text format.
            if (_current.IsSymbol(',') || _current.IsSymbol(';'))
            {
                Advance();
            }
        }
    }

    private void ReadField(Token name, List<TextField> into, int depth)
    {
        var hasColon = false;
        if (_current.IsSymbol(':'))
        {
            hasColon = true;
            Advance();
        }

        var next = _current;
        if (next.IsSymbol('['))
        {
            ReadList(name, into, depth);
        }
        else if (next.IsSymbol('{') || next.IsSymbol('<'))
        {
            into.Add(ReadMessage(name, inList: false, depth));
        }
        else if (hasColon)
        {
            into.Add(ReadScalar(name, inList: false));
        }
        else
        {
            throw Error(_source, next.Line, next.Column, $"expected ':' or '{{' after '{name.Text}', found {Describe(next)}");
        }
    }

    private void ReadList(Token name, List<TextField> into, int depth)
    {
        Advance(); // '['
        if (_current.IsSymbol(']'))
        {
            Advance();
            return;
        }

        while (true)
        {
            if (_current.IsSymbol('{') || _current.IsSymbol('<'))
            {
                into.Add(ReadMessage(name, inList: true, depth));
            }
            else
            {
                into.Add(ReadScalar(name, inList: true));
            }

            var token = _current;
            if (token.IsSymbol(','))
            {
                Advance();
            }
            else if (token.IsSymbol(']'))
            {
                Advance();
                return;
            }
            else
            {
                throw Error(_source, token.Line, token.Column, $"expected ',' or ']' in the list of '{name.Text}', found {Describe(token)}");
            }
        }
    }

    private TextField ReadMessage(Token name, bool inList, int depth)
    {
        var open = _current;
        var closer = open.IsSymbol('<') ? '>' : '}';
        Advance();
        var fields = ReadFields(closer, open, depth + 1);
        return new TextField(_source, name.Text, name.Line, name.Column, inList, TextValueKind.Message, string.Empty, fields, open.Line, open.Column);
    }

    private TextField ReadScalar(Token name, bool inList)
    {
        var value = _current;
        TextValueKind kind;
        var text = value.Text;
        switch (value.Kind)
        {
            case TokenKind.Identifier:
                kind = TextValueKind.Identifier;
                Advance();
                break;
            case TokenKind.Number:
                kind = TextValueKind.Number;
                Advance();
                break;
            case TokenKind.String:
                kind = TextValueKind.String;
                Advance();

                // Adjacent literals concatenate, as in C, so long strings can be split over lines.
                if (_current.Kind == TokenKind.String)
                {
                    var joined = new StringBuilder(text);
                    while (_current.Kind == TokenKind.String)
                    {
                        joined.Append(_current.Text);
                        Advance();
                    }

                    text = joined.ToString();
                }

                break;
            default:
                throw Error(_source, value.Line, value.Column, $"expected a value for '{name.Text}', found {Describe(value)}");
        }

        return new TextField(_source, name.Text, name.Line, name.Column, inList, kind, text, [], value.Line, value.Column);
    }

    private static string Describe(Token token) => token.Kind switch
    {
        TokenKind.End => "end of input",
        TokenKind.String => "a string",
        _ => $"'{token.Text}'",
    };

    private void Advance() => _current = Scan();

    private Token Scan()
    {
        SkipBlanksAndComments();
        var line = _line;
        var column = _pos - _lineStart + 1;
        if (_pos >= _text.Length)
        {
            return new Token(TokenKind.End, string.Empty, line, column);
        }

        var c = _text[_pos];
        if (IsIdentifierStart(c))
        {
            return new Token(TokenKind.Identifier, ReadWord(), line, column);
        }

        if (char.IsAsciiDigit(c) || (c == '.' && _pos + 1 < _text.Length && char.IsAsciiDigit(_text[_pos + 1])))
        {
            return new Token(TokenKind.Number, ReadNumber(), line, column);
        }

        if (c == '-')
        {
            _pos++;
            if (_pos < _text.Length && (char.IsAsciiDigit(_text[_pos]) || _text[_pos] == '.'))
            {
                return new Token(TokenKind.Number, "-" + ReadNumber(), line, column);
            }

            // -inf, -nan: float specials that unknown fields may hold.
            if (_pos < _text.Length && IsIdentifierStart(_text[_pos]))
            {
                return new Token(TokenKind.Identifier, "-" + ReadWord(), line, column);
            }

            throw Error(_source, line, column, "expected a number after '-'");
        }

        if (c is '"' or '\'')
        {
            return new Token(TokenKind.String, ReadString(line, column), line, column);
        }

        if (c is ':' or '{' or '}' or '[' or ']' or '<' or '>' or ',' or ';')
        {
            _pos++;
            return new Token(TokenKind.Symbol, c.ToString(), line, column);
        }

        throw Error(_source, line, column, $"unexpected character '{c}'");
    }

    private void SkipBlanksAndComments()
    {
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            if (c == '\n')
            {
                _pos++;
                _line++;
                _lineStart = _pos;
            }
            else if (c == '#')
            {
                while (_pos < _text.Length && _text[_pos] != '\n')
                {
                    _pos++;
                }
            }
            else if (char.IsWhiteSpace(c) || c == '\uFEFF')
            {
                _pos++;
            }
            else
            {
                return;
            }
        }
    }

    private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private string ReadWord()
    {
        var start = _pos;
        while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '_'))
        {
            _pos++;
        }

        return _text[start.._pos];
    }

    /// <summary>Reads a numeric literal loosely (digits, letters, dots, exponent signs); the field that uses it validates it.</summary>
    private string ReadNumber()
    {
        var start = _pos;
        var hex = _pos + 1 < _text.Length && _text[_pos] == '0' && (_text[_pos + 1] is 'x' or 'X');
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            if (char.IsAsciiLetterOrDigit(c) || c == '.')
            {
                _pos++;
            }
            else if ((c is '+' or '-') && !hex && _pos > start && (_text[_pos - 1] is 'e' or 'E'))
            {
                _pos++;
            }
            else
            {
                break;
            }
        }

        return _text[start.._pos];
    }

    private string ReadString(int line, int column)
    {
        var quote = _text[_pos++];

        // Octal and hex escapes denote bytes, so the literal is assembled as UTF-8 and decoded once at the end.
        var bytes = new List<byte>();
        Span<byte> utf8 = stackalloc byte[4];
        while (true)
        {
            if (_pos >= _text.Length || _text[_pos] == '\n')
            {
                throw Error(_source, line, column, "unterminated string");
            }

            var c = _text[_pos];
            if (c == quote)
            {
                _pos++;
                return Encoding.UTF8.GetString(bytes.ToArray());
            }

            if (c != '\\')
            {
                if (char.IsHighSurrogate(c) && _pos + 1 < _text.Length && char.IsLowSurrogate(_text[_pos + 1]))
                {
                    AppendRune(bytes, new Rune(c, _text[_pos + 1]), utf8);
                    _pos += 2;
                }
                else
                {
                    AppendRune(bytes, Rune.IsValid(c) ? new Rune(c) : Rune.ReplacementChar, utf8);
                    _pos++;
                }

                continue;
            }

            var escapeColumn = _pos - _lineStart + 1;
            _pos++;
            if (_pos >= _text.Length || _text[_pos] == '\n')
            {
                throw Error(_source, line, column, "unterminated string");
            }

            var e = _text[_pos++];
            switch (e)
            {
                case 'n': bytes.Add((byte)'\n'); break;
                case 't': bytes.Add((byte)'\t'); break;
                case 'r': bytes.Add((byte)'\r'); break;
                case 'a': bytes.Add(0x07); break;
                case 'b': bytes.Add(0x08); break;
                case 'f': bytes.Add(0x0C); break;
                case 'v': bytes.Add(0x0B); break;
                case '\\': bytes.Add((byte)'\\'); break;
                case '\'': bytes.Add((byte)'\''); break;
                case '"': bytes.Add((byte)'"'); break;
                case '?': bytes.Add((byte)'?'); break;
                case >= '0' and <= '7':
                    {
                        var value = e - '0';
                        for (var i = 0; i < 2 && _pos < _text.Length && _text[_pos] is >= '0' and <= '7'; i++)
                        {
                            value = (value * 8) + (_text[_pos++] - '0');
                        }

                        if (value > 0xFF)
                        {
                            throw Error(_source, _line, escapeColumn, "octal escape is larger than \\377");
                        }

                        bytes.Add((byte)value);
                        break;
                    }

                case 'x' or 'X':
                    {
                        var value = 0;
                        var digits = 0;
                        while (digits < 2 && _pos < _text.Length && char.IsAsciiHexDigit(_text[_pos]))
                        {
                            value = (value * 16) + HexValue(_text[_pos++]);
                            digits++;
                        }

                        if (digits == 0)
                        {
                            throw Error(_source, _line, escapeColumn, "expected hex digits after '\\x'");
                        }

                        bytes.Add((byte)value);
                        break;
                    }

                case 'u' or 'U':
                    {
                        var count = e == 'u' ? 4 : 8;
                        if (_pos + count > _text.Length
                            || !int.TryParse(_text.AsSpan(_pos, count), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code)
                            || !Rune.IsValid(code))
                        {
                            throw Error(_source, _line, escapeColumn, $"expected {count} hex digits of a valid code point after '\\{e}'");
                        }

                        _pos += count;
                        AppendRune(bytes, new Rune(code), utf8);
                        break;
                    }

                default:
                    throw Error(_source, _line, escapeColumn, $"unknown escape '\\{e}' in string");
            }
        }
    }

    private static void AppendRune(List<byte> bytes, Rune rune, Span<byte> scratch)
    {
        var n = rune.EncodeToUtf8(scratch);
        for (var i = 0; i < n; i++)
        {
            bytes.Add(scratch[i]);
        }
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private readonly record struct Token(TokenKind Kind, string Text, int Line, int Column)
    {
        public bool IsSymbol(char c) => Kind == TokenKind.Symbol && Text[0] == c;
    }
}
