using System.Text.Encodings.Web;
using System.Text.Json;
using Pronto.Batch.Input;
using Pronto.Batch.Scoring;

namespace Pronto.Batch.Output;

/// <summary>One JSON object per line, keys in output column order; lists as arrays, binary as base64, NaN and infinities as null.</summary>
internal sealed class JsonlPartWriter(Stream stream, IReadOnlyList<Column> columns) : IPartWriter
{
    private readonly Utf8JsonWriter _json = new(stream, new JsonWriterOptions { SkipValidation = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    private readonly JsonEncodedText[] _names = [.. columns.Select(c => JsonEncodedText.Encode(c.Name))];

    public ValueTask WriteAsync(ScoredColumns batch, CancellationToken cancellationToken)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            _json.Reset();
            _json.WriteStartObject();
            var row = batch.Row(i);
            var c = 0;
            for (; c < batch.Kept.Length; c++)
            {
                _json.WritePropertyName(_names[c]);
                WriteValue(batch.Kept[c]!, row);
            }

            if (batch.Labels is { } labels)
            {
                _json.WriteString(_names[c++], labels[i]);
                if (batch.Probability is { } probability)
                {
                    _json.WritePropertyName(_names[c++]);
                    WriteFloat(probability[i]);
                }
            }

            if (batch.Scores is { } scores)
            {
                _json.WriteStartArray(_names[c]);
                foreach (var v in scores.AsSpan(i * batch.Per, batch.Per))
                {
                    WriteFloat(v);
                }

                _json.WriteEndArray();
            }

            _json.WriteEndObject();
            _json.Flush();
            stream.WriteByte((byte)'\n');
        }

        return ValueTask.CompletedTask;
    }

    private void WriteValue(ColumnData column, int row)
    {
        if (column.IsNull(row))
        {
            _json.WriteNullValue();
            return;
        }

        switch (column.Values)
        {
            case string?[] strings:
                _json.WriteStringValue(strings[row]);
                break;
            case long[] longs:
                _json.WriteNumberValue(longs[row]);
                break;
            case double[] doubles when double.IsFinite(doubles[row]):
                _json.WriteNumberValue(doubles[row]);
                break;
            case float[] floats:
                WriteFloat(floats[row]);
                break;
            case bool[] bools:
                _json.WriteBooleanValue(bools[row]);
                break;
            case byte[]?[] bytes:
                _json.WriteBase64StringValue(bytes[row]);
                break;
            default:
                // NaN and infinities have no JSON number form.
                _json.WriteNullValue();
                break;
        }
    }

    private void WriteFloat(float value)
    {
        if (float.IsFinite(value))
        {
            _json.WriteNumberValue(value);
        }
        else
        {
            _json.WriteNullValue();
        }
    }

    public ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        _json.Flush();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _json.DisposeAsync();
        await stream.DisposeAsync();
    }
}
