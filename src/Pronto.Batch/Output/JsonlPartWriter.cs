using System.Text.Encodings.Web;
using System.Text.Json;

namespace Pronto.Batch.Output;

/// <summary>One JSON object per line, keys in output column order; lists as arrays, binary as base64.</summary>
internal sealed class JsonlPartWriter : IPartWriter
{
    private readonly Stream _stream;
    private readonly Utf8JsonWriter _json;
    private readonly IReadOnlyList<Column> _columns;
    private readonly JsonEncodedText[] _names;

    public JsonlPartWriter(Stream stream, IReadOnlyList<Column> columns)
    {
        _stream = stream;
        _columns = columns;
        _names = [.. columns.Select(c => JsonEncodedText.Encode(c.Name))];
        _json = new Utf8JsonWriter(stream, new JsonWriterOptions { SkipValidation = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    public ValueTask WriteAsync(object?[] row, CancellationToken cancellationToken)
    {
        Write(_json, _names, _columns, row);
        _json.Flush();
        _stream.WriteByte((byte)'\n');
        return ValueTask.CompletedTask;
    }

    internal static void Write(Utf8JsonWriter json, JsonEncodedText[] names, IReadOnlyList<Column> columns, object?[] row)
    {
        json.Reset();
        json.WriteStartObject();
        for (var c = 0; c < columns.Count; c++)
        {
            json.WritePropertyName(names[c]);
            switch (row[c])
            {
                case null:
                    json.WriteNullValue();
                    break;
                case string s:
                    json.WriteStringValue(s);
                    break;
                case long l:
                    json.WriteNumberValue(l);
                    break;
                case double d when double.IsFinite(d):
                    json.WriteNumberValue(d);
                    break;
                case float f when float.IsFinite(f):
                    json.WriteNumberValue(f);
                    break;
                case bool b:
                    json.WriteBooleanValue(b);
                    break;
                case byte[] bytes:
                    json.WriteBase64StringValue(bytes);
                    break;
                case float[] list:
                    json.WriteStartArray();
                    foreach (var v in list)
                    {
                        if (float.IsFinite(v))
                        {
                            json.WriteNumberValue(v);
                        }
                        else
                        {
                            json.WriteNullValue();
                        }
                    }

                    json.WriteEndArray();
                    break;
                default:
                    // NaN and infinities have no JSON number form.
                    json.WriteNullValue();
                    break;
            }
        }

        json.WriteEndObject();
    }

    public ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        _json.Flush();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _json.DisposeAsync();
        await _stream.DisposeAsync();
    }
}
