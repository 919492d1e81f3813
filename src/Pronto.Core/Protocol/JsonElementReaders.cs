using System.Text.Json;

namespace Pronto.Core.Protocol;

/// <summary>
/// Reads one <c>data</c> element of a given datatype from the reader's current token. Implemented by
/// structs so that the generic data walker is specialised per element type: no boxing, no delegate call,
/// no allocation per element.
/// </summary>
internal interface IJsonElementReader<T>
{
    /// <summary>False when the token is not a valid element of the type (wrong kind, out of range, fractional).</summary>
    bool TryRead(ref Utf8JsonReader reader, out T value);
}

/// <summary>The element readers of every datatype that has a JSON form.</summary>
internal static class JsonElementReaders
{
    internal readonly struct BoolReader : IJsonElementReader<bool>
    {
        public bool TryRead(ref Utf8JsonReader reader, out bool value)
        {
            value = reader.TokenType == JsonTokenType.True;
            return value || reader.TokenType == JsonTokenType.False;
        }
    }

    // The reader's TryGetXxx methods fail both on out-of-range values and on fractions or exponents,
    // which is the strictness wanted: 1.0 is not silently taken as an integer.
    internal readonly struct UInt8Reader : IJsonElementReader<byte>
    {
        public bool TryRead(ref Utf8JsonReader reader, out byte value)
        {
            value = 0;
            return reader.TokenType == JsonTokenType.Number && reader.TryGetByte(out value);
        }
    }

    internal readonly struct UInt16Reader : IJsonElementReader<ushort>
    {
        public bool TryRead(ref Utf8JsonReader reader, out ushort value)
        {
            value = 0;
            return reader.TokenType == JsonTokenType.Number && reader.TryGetUInt16(out value);
        }
    }

    internal readonly struct UInt32Reader : IJsonElementReader<uint>
    {
        public bool TryRead(ref Utf8JsonReader reader, out uint value)
        {
            value = 0;
            return reader.TokenType == JsonTokenType.Number && reader.TryGetUInt32(out value);
        }
    }

    internal readonly struct UInt64Reader : IJsonElementReader<ulong>
    {
        public bool TryRead(ref Utf8JsonReader reader, out ulong value)
        {
            value = 0;
            return reader.TokenType == JsonTokenType.Number && reader.TryGetUInt64(out value);
        }
    }

    internal readonly struct Int8Reader : IJsonElementReader<sbyte>
    {
        public bool TryRead(ref Utf8JsonReader reader, out sbyte value)
        {
            value = 0;
            return reader.TokenType == JsonTokenType.Number && reader.TryGetSByte(out value);
        }
    }

    internal readonly struct Int16Reader : IJsonElementReader<short>
    {
        public bool TryRead(ref Utf8JsonReader reader, out short value)
        {
            value = 0;
            return reader.TokenType == JsonTokenType.Number && reader.TryGetInt16(out value);
        }
    }

    internal readonly struct Int32Reader : IJsonElementReader<int>
    {
        public bool TryRead(ref Utf8JsonReader reader, out int value)
        {
            value = 0;
            return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out value);
        }
    }

    internal readonly struct Int64Reader : IJsonElementReader<long>
    {
        public bool TryRead(ref Utf8JsonReader reader, out long value)
        {
            value = 0;
            return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out value);
        }
    }

    internal readonly struct FP32Reader : IJsonElementReader<float>
    {
        public bool TryRead(ref Utf8JsonReader reader, out float value)
        {
            // A number that overflows to infinity (1e39) is refused: an error beats a silent inf.
            if (reader.TokenType == JsonTokenType.Number)
            {
                return reader.TryGetSingle(out value) && float.IsFinite(value);
            }

            var known = TryReadNonFinite(ref reader, out var wide);
            value = (float)wide;
            return known;
        }
    }

    internal readonly struct FP64Reader : IJsonElementReader<double>
    {
        public bool TryRead(ref Utf8JsonReader reader, out double value)
        {
            if (reader.TokenType == JsonTokenType.Number)
            {
                return reader.TryGetDouble(out value) && double.IsFinite(value);
            }

            return TryReadNonFinite(ref reader, out value);
        }
    }

    /// <summary>
    /// BYTES elements: a JSON string's UTF-8 bytes. When the request body outlives the tensor (the caller
    /// keeps it, see <see cref="Tensors.Tensor"/>), a string without escapes is a slice of the body, not a copy.
    /// </summary>
    internal readonly struct BytesReader(ReadOnlyMemory<byte> json, bool slice) : IJsonElementReader<ReadOnlyMemory<byte>>
    {
        public bool TryRead(ref Utf8JsonReader reader, out ReadOnlyMemory<byte> value)
        {
            value = default;
            if (reader.TokenType != JsonTokenType.String)
            {
                return false;
            }

            var raw = reader.ValueSpan;
            if (raw.IsEmpty)
            {
                value = ReadOnlyMemory<byte>.Empty;
                return true;
            }

            if (!reader.ValueIsEscaped)
            {
                // TokenStartIndex is the opening quote; the value follows it.
                value = slice ? json.Slice((int)reader.TokenStartIndex + 1, raw.Length) : raw.ToArray();
                return true;
            }

            // Unescaping never lengthens a string, so the escaped length is a safe buffer size.
            var buffer = new byte[raw.Length];
            try
            {
                value = buffer.AsMemory(0, reader.CopyString(buffer));
                return true;
            }
            catch (InvalidOperationException)
            {
                // An escaped lone surrogate ("\ud800") has no UTF-8 form.
                return false;
            }
        }
    }

    /// <summary>
    /// JSON has no NaN or infinity; Pronto writes them as the strings "NaN", "Infinity" and "-Infinity"
    /// (as System.Text.Json's AllowNamedFloatingPointLiterals spells them) and reads them back, so a client can
    /// send back what Pronto returned. Triton reads and writes them as bare words, which are not JSON: Pronto
    /// refuses those with a message naming these strings (binary tensors and gRPC carry NaN as it is).
    /// </summary>
    private static bool TryReadNonFinite(ref Utf8JsonReader reader, out double value)
    {
        value = reader.TokenType != JsonTokenType.String ? 0
            : reader.ValueTextEquals("NaN"u8) ? double.NaN
            : reader.ValueTextEquals("Infinity"u8) ? double.PositiveInfinity
            : reader.ValueTextEquals("-Infinity"u8) ? double.NegativeInfinity
            : 0;
        return !double.IsFinite(value);
    }
}
