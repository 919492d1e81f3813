using System.Collections;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Pronto.Core.Errors;

namespace Pronto.Core.Configuration;

/// <summary>
/// Protobuf text format against a message's descriptors: <see cref="TextFormatReader"/>'s schema-free tree is merged
/// into a generated message, so every field name, type, range, enum value, oneof and repetition is checked by the
/// schema (model_config.proto) rather than by hand-kept lists; errors name the file, line and column. The writer
/// prints any message back as Triton's documentation writes configs (repeated messages as <c>input [ { .. }, { .. } ]</c>,
/// repeated scalars as <c>dims: [ 1, 2 ]</c>, map entries as <c>key</c> / <c>value</c> blocks, unset proto3 fields left out).
/// </summary>
internal static class TextFormat
{
    /// <summary>Parses <paramref name="text"/> into a new <typeparamref name="T"/>; <paramref name="positions"/> maps its fields back to the text for later value errors.</summary>
    public static T Parse<T>(string text, string source, out TextPositions positions)
        where T : IMessage<T>, new()
    {
        var message = new T();
        positions = new TextPositions();
        Merge(message, TextFormatReader.Read(text, source), positions);
        return message;
    }

    /// <summary>The text form of <paramref name="message"/>, fields in the schema's declaration order.</summary>
    public static string Format(IMessage message)
    {
        var w = new StringBuilder();
        Write(w, message, 0);
        return w.ToString();
    }

    private static void Merge(IMessage message, IReadOnlyList<TextField> fields, TextPositions positions)
    {
        var descriptor = message.Descriptor;
        foreach (var f in fields)
        {
            var field = descriptor.FindFieldByName(f.Name) ?? throw Unknown(f, Name(descriptor), descriptor.Fields.InDeclarationOrder().Select(x => x.Name));
            positions.Add(message, field.FieldNumber, f);
            if (field.IsMap)
            {
                MergeMapEntry((IDictionary)field.Accessor.GetValue(message), field, f, positions);
            }
            else if (field.IsRepeated)
            {
                ((IList)field.Accessor.GetValue(message)).Add(Value(field, f, positions));
            }
            else
            {
                if (f.InList)
                {
                    throw NameError(f, $"'{f.Name}' is not a repeated field and cannot take a list");
                }

                if (positions.Of(message, field.FieldNumber).Count > 1)
                {
                    throw NameError(f, $"'{f.Name}' is given more than once");
                }

                // Members of a oneof exclude each other: two of them is a contradiction, not an override.
                if (field.RealContainingOneof is { } oneof && oneof.Accessor.GetCaseFieldDescriptor(message) is { } other && other != field)
                {
                    var members = oneof.Fields.Select(x => $"'{x.Name}'").ToList();
                    var choices = $"{string.Join(", ", members[..^1])} or {members[^1]}";
                    throw NameError(f, $"{Name(descriptor)} takes only one of {choices} ('{other.Name}' is set already)");
                }

                field.Accessor.SetValue(message, Value(field, f, positions));
            }
        }
    }

    /// <summary>One <c>{ key: .. value: .. }</c> entry of a map field; a later entry for the same key wins, as in protobuf.</summary>
    private static void MergeMapEntry(IDictionary map, FieldDescriptor field, TextField entry, TextPositions positions)
    {
        RequireMessage(entry);
        var keyField = field.MessageType.FindFieldByNumber(1);
        var valueField = field.MessageType.FindFieldByNumber(2);
        object? key = null;
        object? value = null;
        foreach (var f in entry.Fields)
        {
            var target = f.Name == keyField.Name ? keyField : f.Name == valueField.Name ? valueField : throw Unknown(f, Name(field.MessageType), [keyField.Name, valueField.Name]);
            if (f.InList)
            {
                throw NameError(f, $"'{f.Name}' is not a repeated field and cannot take a list");
            }

            if ((target == keyField ? key : value) is not null)
            {
                throw NameError(f, $"'{f.Name}' is given more than once");
            }

            if (target == keyField)
            {
                key = Value(keyField, f, positions);
            }
            else
            {
                value = Value(valueField, f, positions);
            }
        }

        map[key ?? Default(keyField)] = value ?? Default(valueField);
    }

    private static object Default(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.Message => field.MessageType.Parser.ParseFrom(ByteString.Empty),
        FieldType.String => string.Empty,
        FieldType.Bool => false,
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => 0L,
        FieldType.UInt64 or FieldType.Fixed64 => 0UL,
        FieldType.UInt32 or FieldType.Fixed32 => 0U,
        _ => 0,
    };

    private static object Value(FieldDescriptor field, TextField f, TextPositions positions)
    {
        switch (field.FieldType)
        {
            case FieldType.Message:
                RequireMessage(f);
                var nested = field.MessageType.Parser.ParseFrom(ByteString.Empty);
                Merge(nested, f.Fields, positions);
                return nested;
            case FieldType.String:
                return f.Kind == TextValueKind.String ? f.Scalar : throw ValueError(f, $"expected a quoted string for '{f.Name}', found {Found(f)}");
            case FieldType.Bytes:
                return f.Kind == TextValueKind.String ? ByteString.CopyFromUtf8(f.Scalar) : throw ValueError(f, $"expected a quoted string for '{f.Name}', found {Found(f)}");
            case FieldType.Bool:
                return GetBool(f);
            case FieldType.Enum:
                return GetEnum(field, f);
            case FieldType.Float:
                return (float)GetReal(f);
            case FieldType.Double:
                return GetReal(f);
            case FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32:
                return (int)GetInteger(f, int.MinValue, int.MaxValue);
            case FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64:
                return (long)GetInteger(f, long.MinValue, long.MaxValue);
            case FieldType.UInt32 or FieldType.Fixed32:
                return (uint)GetInteger(f, 0, uint.MaxValue);
            case FieldType.UInt64 or FieldType.Fixed64:
                return (ulong)GetInteger(f, 0, ulong.MaxValue);
            default:
                throw ValueError(f, $"'{f.Name}' has a type ({field.FieldType}) config text does not take");
        }
    }

    private static object GetEnum(FieldDescriptor field, TextField f)
    {
        var type = field.EnumType;
        EnumValueDescriptor? value = f.Kind switch
        {
            TextValueKind.Identifier => type.FindValueByName(f.Scalar),
            TextValueKind.Number when TryParseInteger(f.Scalar, out var n) && n >= int.MinValue && n <= int.MaxValue => type.FindValueByNumber((int)n),
            _ => null,
        };
        if (value is null)
        {
            var names = string.Join(", ", type.Values.Select(v => v.Name));
            throw ValueError(f, $"unknown {f.Name} {Found(f)} (expected one of {names})");
        }

        return Enum.ToObject(type.ClrType, value.Number);
    }

    private static bool GetBool(TextField f)
    {
        if (f.Kind is TextValueKind.Identifier or TextValueKind.Number)
        {
            switch (f.Scalar)
            {
                case "true" or "True" or "t" or "1":
                    return true;
                case "false" or "False" or "f" or "0":
                    return false;
                default:
                    break;
            }
        }

        throw ValueError(f, $"expected true or false for '{f.Name}', found {Found(f)}");
    }

    private static double GetReal(TextField f)
    {
        if (f.Kind == TextValueKind.Identifier)
        {
            switch (f.Scalar.ToLowerInvariant())
            {
                case "inf" or "infinity":
                    return double.PositiveInfinity;
                case "nan":
                    return double.NaN;
                default:
                    break;
            }
        }

        if (f.Kind == TextValueKind.Number && TryParseInteger(f.Scalar, out var integer))
        {
            return (double)integer;
        }

        // A float literal may end in f, as in C.
        if (f.Kind == TextValueKind.Number && double.TryParse(f.Scalar.TrimEnd('f', 'F'), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        throw ValueError(f, $"expected a number for '{f.Name}', found {Found(f)}");
    }

    /// <summary>An integer literal as protobuf writes it (decimal, 0x hex, leading-0 octal), checked against the field's range.</summary>
    private static Int128 GetInteger(TextField f, Int128 min, Int128 max)
    {
        if (f.Kind != TextValueKind.Number || !TryParseInteger(f.Scalar, out var value))
        {
            throw ValueError(f, $"expected an integer for '{f.Name}', found {Found(f)}");
        }

        if (value < min || value > max)
        {
            throw ValueError(f, $"'{f.Name}' must be {Range(min, max)}, found {f.Scalar}");
        }

        return value;
    }

    /// <summary>How an error states a range: "at least 1" when open above, else "between a and b".</summary>
    public static string Range(Int128 min, Int128 max) =>
        max == long.MaxValue || max == ulong.MaxValue ? $"at least {min}" : $"between {min} and {max}";

    /// <summary>Parses decimal, 0x hex and leading-0 octal; false for anything else or beyond 64 bits.</summary>
    private static bool TryParseInteger(string text, out Int128 value)
    {
        value = 0;
        var negative = text.StartsWith('-');
        var digits = negative ? text.AsSpan(1) : text.AsSpan();
        var radix = 10;
        if (digits.Length > 2 && digits[0] == '0' && (digits[1] is 'x' or 'X'))
        {
            radix = 16;
            digits = digits[2..];
        }
        else if (digits.Length > 1 && digits[0] == '0')
        {
            radix = 8;
            digits = digits[1..];
        }

        if (digits.IsEmpty)
        {
            return false;
        }

        Int128 magnitude = 0;
        foreach (var c in digits)
        {
            int d = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => 99,
            };
            if (d >= radix)
            {
                return false;
            }

            magnitude = (magnitude * radix) + d;
            if (magnitude > ulong.MaxValue)
            {
                // Past every integer type protobuf has; a range error, not a syntax one.
                value = negative ? Int128.MinValue : Int128.MaxValue;
                return true;
            }
        }

        value = negative ? -magnitude : magnitude;
        return true;
    }

    private static void RequireMessage(TextField f)
    {
        if (f.Kind != TextValueKind.Message)
        {
            throw ValueError(f, $"expected '{{' to start the '{f.Name}' message");
        }
    }

    /// <summary>A message's name as the schema nests it, without the package: <c>ModelVersionPolicy.Latest</c>.</summary>
    private static string Name(MessageDescriptor descriptor) =>
        descriptor.File.Package.Length > 0 ? descriptor.FullName[(descriptor.File.Package.Length + 1)..] : descriptor.FullName;

    private static ProntoException Unknown(TextField f, string messageName, IEnumerable<string> names)
    {
        var hint = Closest(f.Name, names) is { } near ? $" (did you mean '{near}'?)" : string.Empty;
        return NameError(f, $"unknown field '{f.Name}' in {messageName}{hint}");
    }

    private static string Found(TextField f) => f.Kind switch
    {
        TextValueKind.Message => "a message",
        TextValueKind.String => $"\"{f.Scalar}\"",
        _ => $"'{f.Scalar}'",
    };

    /// <summary>An error at a field's value (where a wrong value points).</summary>
    public static ProntoException ValueError(TextField f, string message) => TextFormatReader.Error(f.Source, f.ValueLine, f.ValueColumn, message);

    /// <summary>An error at a field's name (where a misplaced or repeated field points).</summary>
    public static ProntoException NameError(TextField f, string message) => TextFormatReader.Error(f.Source, f.Line, f.Column, message);

    /// <summary>The candidate within two edits of <paramref name="name"/>, for "did you mean" hints; null when none is that close.</summary>
    public static string? Closest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = 3;
        foreach (var candidate in candidates)
        {
            var d = Distance(name, candidate);
            if (d < bestDistance)
            {
                best = candidate;
                bestDistance = d;
            }
        }

        return best;
    }

    /// <summary>Levenshtein distance; config names are short, so the quadratic table is fine.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitute, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static void Write(StringBuilder w, IMessage message, int depth)
    {
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            var value = field.Accessor.GetValue(message);
            if (field.IsMap)
            {
                foreach (DictionaryEntry entry in (IDictionary)value)
                {
                    Indent(w, depth).Append(field.Name).Append(" {\n");
                    WriteField(w, field.MessageType.FindFieldByNumber(1), entry.Key!, depth + 1);
                    WriteField(w, field.MessageType.FindFieldByNumber(2), entry.Value!, depth + 1);
                    Indent(w, depth).Append("}\n");
                }
            }
            else if (field.IsRepeated)
            {
                var list = (IList)value;
                if (list.Count == 0)
                {
                    continue;
                }

                if (field.FieldType == FieldType.Message)
                {
                    // As Triton's documentation writes them: input [ { ... }, { ... } ].
                    Indent(w, depth).Append(field.Name).Append(" [\n");
                    for (var i = 0; i < list.Count; i++)
                    {
                        Indent(w, depth + 1).Append("{\n");
                        Write(w, (IMessage)list[i]!, depth + 2);
                        Indent(w, depth + 1).Append(i + 1 < list.Count ? "},\n" : "}\n");
                    }

                    Indent(w, depth).Append("]\n");
                }
                else
                {
                    Indent(w, depth).Append(field.Name).Append(": [ ");
                    for (var i = 0; i < list.Count; i++)
                    {
                        w.Append(i > 0 ? ", " : string.Empty).Append(Scalar(field, list[i]!));
                    }

                    w.Append(" ]\n");
                }
            }
            else if (field.RealContainingOneof is { } oneof ? oneof.Accessor.GetCaseFieldDescriptor(message) == field : !IsDefault(field, value))
            {
                WriteField(w, field, value, depth);
            }
        }
    }

    private static void WriteField(StringBuilder w, FieldDescriptor field, object value, int depth)
    {
        if (field.FieldType == FieldType.Message)
        {
            Indent(w, depth).Append(field.Name).Append(" {\n");
            Write(w, (IMessage)value, depth + 1);
            Indent(w, depth).Append("}\n");
        }
        else
        {
            Indent(w, depth).Append(field.Name).Append(": ").Append(Scalar(field, value)).Append('\n');
        }
    }

    private static bool IsDefault(FieldDescriptor field, object? value) => value switch
    {
        null => true,
        string s => s.Length == 0,
        bool b => !b,
        ByteString bytes => bytes.IsEmpty,
        IMessage => false,
        Enum e => Convert.ToInt32(e, CultureInfo.InvariantCulture) == 0,
        IConvertible number => number.ToDouble(CultureInfo.InvariantCulture) == 0 && field.FieldType != FieldType.Message,
        _ => false,
    };

    private static string Scalar(FieldDescriptor field, object value) => value switch
    {
        string s => Quote(s),
        ByteString bytes => Quote(bytes.ToStringUtf8()),
        bool b => b ? "true" : "false",
        Enum e => field.EnumType.FindValueByNumber(Convert.ToInt32(e, CultureInfo.InvariantCulture))?.Name
            ?? Convert.ToInt32(e, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
        float f => Real(f),
        double d => Real(d),
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    private static string Real(double value) =>
        double.IsNaN(value) ? "nan" : double.IsPositiveInfinity(value) ? "inf" : double.IsNegativeInfinity(value) ? "-inf" : value.ToString("R", CultureInfo.InvariantCulture);

    private static StringBuilder Indent(StringBuilder w, int depth) => w.Append(' ', depth * 2);

    /// <summary>Quotes with C escapes; other control characters become octal so the output stays one line per field.</summary>
    private static string Quote(string value)
    {
        var s = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': s.Append("\\\""); break;
                case '\\': s.Append("\\\\"); break;
                case '\n': s.Append("\\n"); break;
                case '\r': s.Append("\\r"); break;
                case '\t': s.Append("\\t"); break;
                case < ' ' or '\x7F':
                    s.Append('\\').Append(Convert.ToString(c, 8).PadLeft(3, '0'));
                    break;
                default:
                    s.Append(c);
                    break;
            }
        }

        return s.Append('"').ToString();
    }
}

/// <summary>Where each field of a parsed message came from, so checks made after parsing still point at the text.</summary>
internal sealed class TextPositions
{
    private readonly Dictionary<IMessage, Dictionary<int, List<TextField>>> _fields = new(ReferenceEqualityComparer.Instance);

    public void Add(IMessage message, int fieldNumber, TextField field)
    {
        if (!_fields.TryGetValue(message, out var byNumber))
        {
            _fields[message] = byNumber = [];
        }

        if (!byNumber.TryGetValue(fieldNumber, out var list))
        {
            byNumber[fieldNumber] = list = [];
        }

        list.Add(field);
    }

    /// <summary>The occurrences of a field in <paramref name="message"/>'s text, in order (one per element of a repeated field).</summary>
    public IReadOnlyList<TextField> Of(IMessage message, int fieldNumber) =>
        _fields.TryGetValue(message, out var byNumber) && byNumber.TryGetValue(fieldNumber, out var list) ? list : [];

    /// <summary>The text of the last entry of map field <paramref name="fieldNumber"/> whose string key is <paramref name="key"/>.</summary>
    public TextField? MapEntry(IMessage message, int fieldNumber, string key) =>
        Of(message, fieldNumber).LastOrDefault(e => (Part(e, "key")?.Scalar ?? string.Empty) == key);

    /// <summary>The last field called <paramref name="name"/> inside <paramref name="message"/>'s text.</summary>
    public static TextField? Part(TextField? message, string name) => message?.Fields.LastOrDefault(f => f.Name == name);

    /// <summary>An InvalidArgument at the value of <paramref name="field"/> when it came from text, else without a position.</summary>
    public static ProntoException ValueError(TextField? field, string message) =>
        field is null ? new ProntoException(ErrorCode.InvalidArgument, message) : TextFormat.ValueError(field, message);

    /// <summary>An InvalidArgument at the name of <paramref name="field"/> when it came from text, else without a position.</summary>
    public static ProntoException NameError(TextField? field, string message) =>
        field is null ? new ProntoException(ErrorCode.InvalidArgument, message) : TextFormat.NameError(field, message);
}
