using System.Text.Json;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto.Core.Processing;

/// <summary>
/// A JSON object of named fields per row (<c>{"amount": 912.5, "hour": 3, ...}</c>) -> the model's FP32
/// feature tensor [n, fields], in the order <c>pronto.fields.names</c> gives. Every field is required and
/// numeric (true/false count as 1/0); an unknown field is an error, so a typo never passes silently.
/// </summary>
public sealed class FieldsPreparer : IInputPreparer
{
    private readonly string _input;
    private readonly string[] _names;
    private readonly Dictionary<string, int> _index;

    private FieldsPreparer(string input, string[] names)
    {
        _input = input;
        _names = names;
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++)
        {
            _index[names[i]] = i;
        }
    }

    public string InputName => "fields";

    public string ItemDescription => "a JSON object of named numeric fields";

    /// <summary>The field names, in feature order.</summary>
    public IReadOnlyList<string> FieldNames => _names;

    internal static FieldsPreparer Create(ProcessingParameters p)
    {
        var input = p.Input(p.Get(ProntoParameters.FieldsInput) ?? p.Config.Inputs[0].Name);
        var names = p.Require(ProntoParameters.FieldsNames).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var width = input.Dims.Length > 0 ? input.Dims[^1] : -1;
        if (input.DataType != DataType.FP32 || (width > 0 && width != names.Length))
        {
            ProntoErrors.InvalidArgument($"model '{p.Config.Name}': fields preparation needs an FP32 input of {names.Length} features; '{input.Name}' is {input.DataType.ToProtocolName()} [{string.Join(",", input.Dims)}]");
        }

        return new FieldsPreparer(input.Name, names);
    }

    public IReadOnlyList<NamedTensor> Prepare(Tensor items)
    {
        var rows = PreparerItems.Read(items, InputName);
        var values = new float[rows.Count * _names.Length];
        for (var i = 0; i < rows.Count; i++)
        {
            ParseRow(rows[i].Span, values.AsSpan(i * _names.Length, _names.Length), i);
        }

        return [new NamedTensor(_input, Tensor.Create(values, rows.Count, _names.Length))];
    }

    /// <summary>Features from already-parsed values, in <see cref="FieldNames"/> order (batch jobs and SQL use this).</summary>
    public NamedTensor FromRows(float[] featureMatrix, int rows) =>
        new(_input, Tensor.Create(featureMatrix, rows, _names.Length));

    /// <summary>
    /// <see cref="FromRows(float[], int)"/> over little-endian FP32 bytes, kept, not copied: a caller that reuses
    /// one buffer for every batch keeps it unchanged until the inference that reads it has returned.
    /// </summary>
    public NamedTensor FromRows(ReadOnlyMemory<byte> featureBytes, int rows) =>
        new(_input, Tensor.FromBytes(DataType.FP32, featureBytes, rows, _names.Length));

    private void ParseRow(ReadOnlySpan<byte> json, Span<float> row, int rowIndex)
    {
        var seen = new bool[_names.Length];
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 4 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                ProntoErrors.InvalidArgument($"row {rowIndex}: expected a JSON object of fields ({string.Join(", ", _names)})");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (!_index.TryGetValue(name, out var k))
                {
                    ProntoErrors.InvalidArgument($"row {rowIndex}: unknown field '{name}'; the model's fields are {string.Join(", ", _names)}");
                }

                reader.Read();
                row[k] = reader.TokenType switch
                {
                    JsonTokenType.Number => reader.GetSingle(),
                    JsonTokenType.True => 1f,
                    JsonTokenType.False => 0f,
                    _ => ProntoErrors.InvalidArgument<float>($"row {rowIndex}: field '{name}' must be a number, got {Describe(reader.TokenType)}"),
                };
                if (!float.IsFinite(row[k]))
                {
                    ProntoErrors.InvalidArgument($"row {rowIndex}: field '{name}' is out of the FP32 range");
                }

                seen[k] = true;
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                ProntoErrors.InvalidArgument($"row {rowIndex}: expected one flat JSON object of fields");
            }
        }
        catch (JsonException e)
        {
            ProntoErrors.InvalidArgument($"row {rowIndex}: malformed JSON: {e.Message}");
        }

        var missing = new List<string>();
        for (var k = 0; k < seen.Length; k++)
        {
            if (!seen[k])
            {
                missing.Add(_names[k]);
            }
        }

        if (missing.Count > 0)
        {
            ProntoErrors.InvalidArgument($"row {rowIndex}: missing field{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)} (the model's fields are {string.Join(", ", _names)})");
        }
    }

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.Null => "null",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        _ => type.ToString(),
    };
}
