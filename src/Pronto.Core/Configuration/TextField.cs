namespace Pronto.Core.Configuration;

/// <summary>How a <see cref="TextField"/>'s value was written.</summary>
internal enum TextValueKind
{
    /// <summary>A bare word: an enum value, <c>true</c>, <c>false</c>, <c>inf</c>.</summary>
    Identifier,

    /// <summary>A numeric literal, kept as written so each field can apply its own range.</summary>
    Number,

    /// <summary>A quoted string, already unescaped (adjacent strings joined).</summary>
    String,

    /// <summary>A nested message: <c>{ ... }</c> or <c>&lt; ... &gt;</c>.</summary>
    Message,
}

/// <summary>
/// One field of a parsed protobuf text-format message. The reader builds the whole tree without knowing the schema,
/// so fields Pronto does not use are skipped simply by not looking at them; positions are kept for error messages.
/// </summary>
internal sealed class TextField
{
    public TextField(string source, string name, int line, int column, bool inList, TextValueKind kind, string scalar, IReadOnlyList<TextField> fields, int valueLine, int valueColumn)
    {
        Source = source;
        Name = name;
        Line = line;
        Column = column;
        InList = inList;
        Kind = kind;
        Scalar = scalar;
        Fields = fields;
        ValueLine = valueLine;
        ValueColumn = valueColumn;
    }

    /// <summary>The file the field was read from, named in error messages.</summary>
    public string Source { get; }

    public string Name { get; }

    /// <summary>Position of the field's name.</summary>
    public int Line { get; }

    public int Column { get; }

    /// <summary>True when the value came from a <c>[ ... ]</c> list, which only repeated fields may use.</summary>
    public bool InList { get; }

    public TextValueKind Kind { get; }

    /// <summary>The scalar's text; empty for messages.</summary>
    public string Scalar { get; }

    /// <summary>The nested fields of a message; empty for scalars.</summary>
    public IReadOnlyList<TextField> Fields { get; }

    /// <summary>Position of the value, where value errors point.</summary>
    public int ValueLine { get; }

    public int ValueColumn { get; }
}
