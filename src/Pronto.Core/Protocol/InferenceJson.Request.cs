using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using static Pronto.Core.Protocol.JsonElementReaders;

namespace Pronto.Core.Protocol;

/// <summary>
/// The JSON body of the Open Inference Protocol v2 (KServe / Triton REST): infer requests in, responses
/// and errors out, with the binary tensor extension. Pure functions over bytes; the HTTP layer owns headers.
/// </summary>
/// <remarks>
/// Reading decisions, beyond what the protocol pins down:
/// <list type="bullet">
/// <item><c>data</c> is row-major, flat or nested to any depth within <see cref="JsonLimits.MaxDepth"/>; nesting
/// is flattened, not checked against the shape: only the element count must match.</item>
/// <item>A bare value (<c>"data": 5</c>) is taken as one element, so a rank-0 scalar may be sent as <c>5</c> or <c>[5]</c>.</item>
/// <item>Integers must be written as integers (<c>1.0</c> is not an INT32) and fit the type.</item>
/// <item>FP32 / FP64 also take the strings <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>, which is how
/// responses carry them; a number that overflows the type (<c>1e39</c> as FP32) is an error, not infinity.</item>
/// <item>FP16 and BF16 have no JSON form: they must come as binary tensors.</item>
/// <item>Unknown properties are skipped (forward compatibility); input parameters other than
/// <c>binary_data_size</c> are checked for syntax and dropped, as the core has no use for them.</item>
/// </list>
/// Every problem is a <see cref="ProntoException"/> with <see cref="ErrorCode.InvalidArgument"/> naming the
/// input, field or byte at fault; no input can cause deep recursion or an allocation the body cannot justify.
/// </remarks>
public static partial class InferenceJson
{
    private static readonly string ValidDatatypes = string.Join(", ", ValidDatatypeNames());

    /// <summary>
    /// Reads a request whose body is JSON only. Inputs that declare <c>binary_data_size</c> are an error:
    /// use <see cref="ReadRequest(ReadOnlyMemory{byte}, int, string, string?, JsonLimits?)"/> for bodies with binary tensors.
    /// BYTES elements are copied out of <paramref name="utf8Json"/>, so the span may be reused afterwards.
    /// </summary>
    public static JsonInferenceRequest ReadRequest(ReadOnlySpan<byte> utf8Json, string modelName, string? modelVersion, JsonLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        limits ??= JsonLimits.Default;
        limits.Validate();

        var envelope = ParseEnvelope(utf8Json, new ReadContext(default, slice: false, limits, utf8Json.Length));
        foreach (var input in envelope.Inputs)
        {
            if (input.BinarySize >= 0)
            {
                ProntoErrors.InvalidArgument(
                    $"input '{input.Name}' declares binary_data_size but the request has no binary part (send Inference-Header-Content-Length)");
            }
        }

        return envelope.Build(modelName, modelVersion);
    }

    /// <summary>
    /// Reads a request body of the binary tensor extension: the JSON header is <c>body[..jsonLength]</c>
    /// (<c>Inference-Header-Content-Length</c>), followed by the raw tensors of the inputs that declare
    /// <c>binary_data_size</c>, in input order. Fixed-size tensors are little-endian; BYTES tensors are a
    /// 4-byte little-endian length then the bytes, per element. FP16 and BF16 are allowed here.
    /// </summary>
    /// <remarks>
    /// Nothing is copied: binary tensors, and BYTES elements of JSON strings without escapes, are slices of
    /// <paramref name="body"/>, which the caller keeps alive and unchanged until the inference has completed.
    /// Pass <c>jsonLength = body.Length</c> for a body that is JSON only.
    /// </remarks>
    public static JsonInferenceRequest ReadRequest(ReadOnlyMemory<byte> body, int jsonLength, string modelName, string? modelVersion, JsonLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        limits ??= JsonLimits.Default;
        limits.Validate();
        if ((uint)jsonLength > (uint)body.Length)
        {
            // The length comes from a client's header, so it is the client's mistake.
            ProntoErrors.InvalidArgument($"Inference-Header-Content-Length {jsonLength} is outside the body's {body.Length} bytes");
        }

        var json = body[..jsonLength];
        var envelope = ParseEnvelope(json.Span, new ReadContext(json, slice: true, limits, jsonLength));
        var offset = jsonLength;
        foreach (var input in envelope.Inputs)
        {
            if (input.BinarySize >= 0)
            {
                input.Tensor = ReadBinaryInput(input, body, ref offset);
            }
        }

        if (offset != body.Length)
        {
            ProntoErrors.InvalidArgument(
                $"{body.Length - offset} bytes follow the last binary input; the inputs' binary_data_size values add up to {offset - jsonLength}");
        }

        return envelope.Build(modelName, modelVersion);
    }

    private static Envelope ParseEnvelope(ReadOnlySpan<byte> json, ReadContext context)
    {
        var limits = context.Limits;
        var envelope = new Envelope();
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = limits.MaxDepth });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                ProntoErrors.InvalidArgument("the request body must be a JSON object");
            }

            var sawInputs = false;
            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("inputs"u8))
                {
                    if (sawInputs)
                    {
                        ProntoErrors.InvalidArgument("the request has 'inputs' twice");
                    }

                    Next(ref reader);
                    ReadInputs(ref reader, envelope, context);
                    sawInputs = true;
                }
                else if (reader.ValueTextEquals("outputs"u8))
                {
                    Next(ref reader);
                    ReadOutputs(ref reader, envelope, limits);
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    Next(ref reader);
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        ProntoErrors.InvalidArgument("'id' must be a string");
                    }

                    envelope.Id = GetText(ref reader);
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    Next(ref reader);
                    envelope.Parameters = ReadParameters(ref reader, "the request");
                    envelope.BinaryDataOutput = envelope.Parameters.TryGetValue("binary_data_output", out var flag)
                        && (flag as bool? ?? ProntoErrors.InvalidArgument<bool>("parameter 'binary_data_output' must be true or false"));
                }
                else
                {
                    Next(ref reader);
                    reader.Skip();
                }
            }

            // With the whole body in hand the reader throws on anything but whitespace after the object.
            if (reader.Read())
            {
                ProntoErrors.InvalidArgument($"unexpected data after the request object at byte {reader.TokenStartIndex}");
            }

            if (!sawInputs)
            {
                ProntoErrors.InvalidArgument("the request has no 'inputs'");
            }
        }
        catch (JsonException ex)
        {
            throw Malformed(json, ex, IsDepthError(json, reader, limits), limits);
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("surrogate", StringComparison.Ordinal))
        {
            // Utf8JsonReader accepts a lone surrogate escape ("\ud800") while reading and refuses it only when the
            // string is read out: the JSON is well-formed, its text is not valid Unicode.
            throw new ProntoException(ErrorCode.InvalidArgument,
                $"malformed JSON at byte {reader.TokenStartIndex}: a string escapes a lone UTF-16 surrogate (\\uD800-\\uDFFF without its pair)", ex);
        }

        return envelope;
    }

    private static void ReadInputs(ref Utf8JsonReader reader, Envelope envelope, ReadContext context)
    {
        Expect(ref reader, JsonTokenType.StartArray, "'inputs' must be an array of objects");
        while (Next(ref reader) && reader.TokenType != JsonTokenType.EndArray)
        {
            if (envelope.Inputs.Count >= context.Limits.MaxInputs)
            {
                ProntoErrors.InvalidArgument($"the request has more than {context.Limits.MaxInputs} inputs");
            }

            envelope.Inputs.Add(ReadInput(ref reader, envelope.Inputs.Count, context));
        }
    }

    private static PendingInput ReadInput(ref Utf8JsonReader reader, int index, ReadContext context)
    {
        Expect(ref reader, JsonTokenType.StartObject, "'inputs' must be an array of objects");
        var input = new PendingInput(index);
        var deferred = false;
        var deferredData = default(Utf8JsonReader);
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("data"u8))
            {
                Next(ref reader);
                if (input.HasData)
                {
                    ProntoErrors.InvalidArgument($"{input.Label} has 'data' twice");
                }

                input.HasData = true;
                if (input.HasHeader)
                {
                    // The usual order (name, shape, datatype, data): parse the elements in this one pass.
                    input.CheckHeader();
                    input.CheckJsonData(context);
                    input.Tensor = ReadData(ref reader, input, context);
                }
                else
                {
                    // The type or shape comes later: keep a copy of the reader at the data to come back to,
                    // which costs a second tokenizing pass over it, only for requests in this order.
                    deferred = true;
                    deferredData = reader;
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("name"u8))
            {
                Next(ref reader);
                input.Name = ReadString(ref reader, $"{input.Label}: 'name' must be a string");
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                Next(ref reader);
                input.Shape = ReadShape(ref reader, input, context.Limits);
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                Next(ref reader);
                input.Datatype = ReadString(ref reader, $"{input.Label}: 'datatype' must be a string");
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                Next(ref reader);
                var parameters = ReadParameters(ref reader, input.Label);
                if (parameters.TryGetValue("binary_data_size", out var size))
                {
                    input.BinarySize = size is long n and >= 0 ? n
                        : ProntoErrors.InvalidArgument<long>($"{input.Label}: binary_data_size must be a non-negative integer");
                }
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }

        input.CheckHeader();
        if (input.HasData && input.BinarySize >= 0)
        {
            ProntoErrors.InvalidArgument($"{input.Label} has both 'data' and binary_data_size");
        }

        if (!input.HasData && input.BinarySize < 0)
        {
            ProntoErrors.InvalidArgument($"{input.Label} has no 'data' (nor a binary_data_size parameter)");
        }

        if (deferred)
        {
            input.CheckJsonData(context);
            input.Tensor = ReadData(ref deferredData, input, context);
        }

        return input;
    }

    private static long[] ReadShape(ref Utf8JsonReader reader, PendingInput input, JsonLimits limits)
    {
        Expect(ref reader, JsonTokenType.StartArray, $"{input.Label}: 'shape' must be an array of integers");
        var dims = new List<long>(4);
        while (Next(ref reader) && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var dim))
            {
                ProntoErrors.InvalidArgument($"{input.Label}: 'shape' must be an array of integers, got {TokenText(ref reader)}");
                return [];
            }

            if (dims.Count >= limits.MaxRank)
            {
                ProntoErrors.InvalidArgument($"{input.Label}: 'shape' has more than {limits.MaxRank} dimensions");
            }

            dims.Add(dim);
        }

        return [.. dims];
    }

    private static void ReadOutputs(ref Utf8JsonReader reader, Envelope envelope, JsonLimits limits)
    {
        Expect(ref reader, JsonTokenType.StartArray, "'outputs' must be an array of objects");
        while (Next(ref reader) && reader.TokenType != JsonTokenType.EndArray)
        {
            if (envelope.Outputs.Count >= limits.MaxOutputs)
            {
                ProntoErrors.InvalidArgument($"the request has more than {limits.MaxOutputs} outputs");
            }

            var label = $"outputs[{envelope.Outputs.Count}]";
            Expect(ref reader, JsonTokenType.StartObject, "'outputs' must be an array of objects");
            string? name = null;
            Dictionary<string, object>? parameters = null;
            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    Next(ref reader);
                    name = ReadString(ref reader, $"{label}: 'name' must be a string");
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    Next(ref reader);
                    parameters = ReadParameters(ref reader, label);
                }
                else
                {
                    Next(ref reader);
                    reader.Skip();
                }
            }

            if (name is null)
            {
                ProntoErrors.InvalidArgument($"{label} is missing 'name'");
            }

            bool? binary = null;
            var classification = 0;
            if (parameters is not null)
            {
                if (parameters.TryGetValue("binary_data", out var b))
                {
                    binary = b as bool? ?? ProntoErrors.InvalidArgument<bool>($"output '{name}': binary_data must be true or false");
                }

                if (parameters.TryGetValue("classification", out var k))
                {
                    classification = k is long n and >= 0 and <= int.MaxValue ? (int)n
                        : ProntoErrors.InvalidArgument<int>($"output '{name}': classification must be a non-negative integer");
                }
            }

            envelope.Outputs.Add(new PendingOutput(name, classification, binary));
        }
    }

    /// <summary>A parameters object: bool, long (integers that fit), double (other numbers) and string values.</summary>
    private static Dictionary<string, object> ReadParameters(ref Utf8JsonReader reader, string owner)
    {
        Expect(ref reader, JsonTokenType.StartObject, $"{owner}: 'parameters' must be an object");
        var parameters = new Dictionary<string, object>(StringComparer.Ordinal);
        while (NextProperty(ref reader))
        {
            var key = GetText(ref reader);
            Next(ref reader);
            parameters[key] = reader.TokenType switch
            {
                JsonTokenType.True => true,
                JsonTokenType.False => false,
                JsonTokenType.String => GetText(ref reader),
                JsonTokenType.Number when reader.TryGetInt64(out var l) => l,
                JsonTokenType.Number when reader.TryGetDouble(out var d) && double.IsFinite(d) => d,
                _ => ProntoErrors.InvalidArgument<object>(
                    $"{owner}: parameter '{key}' must be a boolean, a finite number or a string, got {TokenText(ref reader)}"),
            };
        }

        return parameters;
    }

    /// <summary>Reads the elements at the reader's current token (the value of <c>data</c>) into a tensor of the input's type.</summary>
    private static Tensor ReadData(ref Utf8JsonReader reader, PendingInput input, ReadContext context)
    {
        var shape = input.Shape!;
        return input.Type switch
        {
            DataType.Bool => Tensor.Create(Fill<bool, BoolReader>(ref reader, input, context, default), shape),
            DataType.UInt8 => Tensor.Create(Fill<byte, UInt8Reader>(ref reader, input, context, default), shape),
            DataType.UInt16 => Tensor.Create(Fill<ushort, UInt16Reader>(ref reader, input, context, default), shape),
            DataType.UInt32 => Tensor.Create(Fill<uint, UInt32Reader>(ref reader, input, context, default), shape),
            DataType.UInt64 => Tensor.Create(Fill<ulong, UInt64Reader>(ref reader, input, context, default), shape),
            DataType.Int8 => Tensor.Create(Fill<sbyte, Int8Reader>(ref reader, input, context, default), shape),
            DataType.Int16 => Tensor.Create(Fill<short, Int16Reader>(ref reader, input, context, default), shape),
            DataType.Int32 => Tensor.Create(Fill<int, Int32Reader>(ref reader, input, context, default), shape),
            DataType.Int64 => Tensor.Create(Fill<long, Int64Reader>(ref reader, input, context, default), shape),
            DataType.FP32 => Tensor.Create(Fill<float, FP32Reader>(ref reader, input, context, default), shape),
            DataType.FP64 => Tensor.Create(Fill<double, FP64Reader>(ref reader, input, context, default), shape),
            DataType.Bytes => Tensor.FromStrings(
                Fill<ReadOnlyMemory<byte>, BytesReader>(ref reader, input, context, new BytesReader(context.Json, context.Slice)), shape),
            _ => throw new InvalidOperationException($"{input.Type} has no JSON form"), // CheckJsonData refused it already
        };
    }

    /// <summary>
    /// Walks <c>data</c> (a bare value, or arrays nested to any depth the reader allows) and writes each
    /// element straight into a typed array of the shape's element count.
    /// </summary>
    private static T[] Fill<T, TReader>(ref Utf8JsonReader reader, PendingInput input, ReadContext context, TReader elements)
        where TReader : struct, IJsonElementReader<T>
    {
        var expected = input.Count;

        // Every element takes at least two bytes with its separator ("1,"), so a count the rest of the
        // body cannot hold is a mismatch known before allocating: a tiny body cannot make us allocate much.
        var room = ((context.JsonLength - reader.TokenStartIndex) / 2) + 1;
        var values = expected <= room ? new T[expected] : [];
        long count = 0;
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            var depth = reader.CurrentDepth;
            while (Next(ref reader))
            {
                var token = reader.TokenType;
                if (token == JsonTokenType.EndArray)
                {
                    if (reader.CurrentDepth == depth)
                    {
                        break;
                    }
                }
                else if (token != JsonTokenType.StartArray)
                {
                    ReadElement(ref reader, input, values, count, elements);
                    count++;
                }
            }
        }
        else
        {
            // A bare value is one element: a scalar written without brackets.
            ReadElement(ref reader, input, values, count, elements);
            count = 1;
        }

        if (count != expected)
        {
            ProntoErrors.InvalidArgument(
                $"{input.Label}: shape {FormatShape(input.Shape!)} needs {expected} elements, 'data' has {count}");
        }

        return values;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ReadElement<T, TReader>(ref Utf8JsonReader reader, PendingInput input, T[] values, long index, TReader elements)
        where TReader : struct, IJsonElementReader<T>
    {
        if ((ulong)index < (ulong)values.Length)
        {
            // TryRead refuses objects too, as no element type has an object form.
            if (!elements.TryRead(ref reader, out values[index]))
            {
                ThrowBadElement(ref reader, input, index);
            }
        }
        else if (reader.TokenType == JsonTokenType.StartObject)
        {
            // Past the expected count the walk only counts, to report how many elements there were;
            // an object's contents would count wrongly.
            ThrowBadElement(ref reader, input, index);
        }
    }

    // Kept out of ReadElement so that the per-element path stays small enough to inline.
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadElement(ref Utf8JsonReader reader, PendingInput input, long index)
    {
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            ProntoErrors.InvalidArgument($"{input.Label} element {index}: 'data' holds an object; it takes numbers, booleans or strings, nested in arrays");
        }

        ProntoErrors.InvalidArgument($"{input.Label} element {index}: {TokenText(ref reader)} is not {DescribeElement(input.Type)}");
    }

    private static string DescribeElement(DataType type) => type switch
    {
        DataType.Bool => "a BOOL (true or false)",
        DataType.UInt8 => "a UINT8 (an integer in 0..255)",
        DataType.UInt16 => "a UINT16 (an integer in 0..65535)",
        DataType.UInt32 => "a UINT32 (an integer in 0..4294967295)",
        DataType.UInt64 => "a UINT64 (an integer in 0..18446744073709551615)",
        DataType.Int8 => "an INT8 (an integer in -128..127)",
        DataType.Int16 => "an INT16 (an integer in -32768..32767)",
        DataType.Int32 => "an INT32 (an integer in -2147483648..2147483647)",
        DataType.Int64 => "an INT64 (an integer in -9223372036854775808..9223372036854775807)",
        DataType.FP32 => "an FP32 (a number within ±3.4028235E+38, or \"NaN\", \"Infinity\", \"-Infinity\")",
        DataType.FP64 => "an FP64 (a finite number, or \"NaN\", \"Infinity\", \"-Infinity\")",
        _ => "a BYTES element (a JSON string)",
    };

    /// <summary>The current token as the client wrote it, shortened, for error messages.</summary>
    private static string TokenText(ref Utf8JsonReader reader)
    {
        const int MaxLength = 40;
        var raw = reader.ValueSpan;
        var text = Encoding.UTF8.GetString(raw[..Math.Min(raw.Length, MaxLength)]) + (raw.Length > MaxLength ? "..." : "");
        return reader.TokenType switch
        {
            JsonTokenType.String => $"\"{text}\"",
            JsonTokenType.Number => text,
            JsonTokenType.True => "true",
            JsonTokenType.False => "false",
            JsonTokenType.Null => "null",
            JsonTokenType.StartArray => "an array",
            JsonTokenType.StartObject => "an object",
            _ => reader.TokenType.ToString(),
        };
    }

    private static Tensor ReadBinaryInput(PendingInput input, ReadOnlyMemory<byte> body, ref int offset)
    {
        var remaining = body.Length - offset;
        if (input.BinarySize > remaining)
        {
            ProntoErrors.InvalidArgument($"input '{input.Name}' declares {input.BinarySize} binary bytes but only {remaining} remain");
        }

        var size = (int)input.BinarySize;
        var data = body.Slice(offset, size);
        offset += size;
        var type = input.Type;
        if (type == DataType.Bytes)
        {
            return Tensor.FromStrings(BinaryTensors.SplitStrings(input.Name!, data, input.Count), input.Shape!);
        }

        // Int128: a huge declared shape must give a clear message, not an overflow.
        var needed = (Int128)input.Count * type.ElementSize();
        if (needed != size)
        {
            ProntoErrors.InvalidArgument(
                $"input '{input.Name}': {type.ToProtocolName()} {FormatShape(input.Shape!)} needs {needed} bytes, got {size}");
        }

        if (type == DataType.Bool)
        {
            BinaryTensors.CheckBools(input.Name!, data.Span);
        }

        return Tensor.FromBytes(type, data, input.Shape!);
    }

    private static ProntoException Malformed(ReadOnlySpan<byte> json, JsonException ex, bool tooDeep, JsonLimits limits)
    {
        var at = ByteOffset(json, ex.LineNumber ?? 0, ex.BytePositionInLine ?? 0);

        // The reader's messages end with its own position ("LineNumber: 0 | BytePositionInLine: 7."), which
        // the absolute byte offset replaces.
        var message = ex.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut >= 0)
        {
            message = message[..cut];
        }

        if (tooDeep)
        {
            return new ProntoException(ErrorCode.InvalidArgument, $"JSON nests deeper than the limit of {limits.MaxDepth} levels at byte {at}", ex);
        }

        // Triton's JSON parser (rapidjson with kParseNanAndInfFlag) and Python's json.dumps write NaN and infinities
        // as bare words, which are not JSON; say what to send instead.
        if (IsBareNonFinite(json, at))
        {
            message = "NaN and infinities are not JSON numbers; send the strings \"NaN\", \"Infinity\" or \"-Infinity\", or the tensor as binary data";
        }

        return new ProntoException(ErrorCode.InvalidArgument, $"malformed JSON at byte {at}: {message}", ex);
    }

    private static bool IsBareNonFinite(ReadOnlySpan<byte> json, long at)
    {
        if (at < 0 || at >= json.Length)
        {
            return false;
        }

        var rest = json[(int)at..];
        if (rest.StartsWith("-"u8) || rest.StartsWith("+"u8))
        {
            rest = rest[1..];
        }

        return rest.StartsWith("NaN"u8) || rest.StartsWith("Inf"u8);
    }

    /// <summary>
    /// Whether the reader failed on the limit of <see cref="JsonLimits.MaxDepth"/>: it stands inside the deepest
    /// container allowed and the next token opens another. (Its messages cannot tell: truncated JSON also
    /// speaks of depth.)
    /// </summary>
    private static bool IsDepthError(ReadOnlySpan<byte> json, Utf8JsonReader reader, JsonLimits limits)
    {
        if (reader.CurrentDepth < limits.MaxDepth - 1 || reader.BytesConsumed > json.Length)
        {
            return false;
        }

        var rest = json[(int)reader.BytesConsumed..];
        var next = rest.IndexOfAnyExcept(" \t\r\n,:"u8);
        return next >= 0 && rest[next] is (byte)'[' or (byte)'{';
    }

    /// <summary>The reader reports a line and a byte in it; clients want the offset into the body.</summary>
    private static long ByteOffset(ReadOnlySpan<byte> json, long line, long byteInLine)
    {
        var start = 0;
        for (long l = 0; l < line; l++)
        {
            var next = json[start..].IndexOf((byte)'\n');
            if (next < 0)
            {
                break;
            }

            start += next + 1;
        }

        return start + byteInLine;
    }

    /// <summary>Advances to the next property name; false at the end of the object.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        return reader.TokenType == JsonTokenType.PropertyName;
    }

    /// <summary>Advances one token. The body is complete, so the reader throws on truncation instead of returning false.</summary>
    private static bool Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            ProntoErrors.InvalidArgument("the JSON ends early");
        }

        return true;
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string message)
    {
        if (reader.TokenType != type)
        {
            ProntoErrors.InvalidArgument(message);
        }
    }

    private static string ReadString(ref Utf8JsonReader reader, string message)
    {
        Expect(ref reader, JsonTokenType.String, message);
        return GetText(ref reader);
    }

    /// <summary>The current string or property name, unescaped.</summary>
    private static string GetText(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException ex)
        {
            // Thrown for escapes that have no UTF-8 form (a lone "\ud800"): the client's JSON is at fault.
            throw new ProntoException(ErrorCode.InvalidArgument, $"malformed JSON at byte {reader.TokenStartIndex}: {ex.Message}", ex);
        }
    }

    private static string FormatShape(long[] shape) => Shapes.Format(shape);

    private static IEnumerable<string> ValidDatatypeNames()
    {
        for (var t = DataType.Bool; t <= DataType.BF16; t++)
        {
            yield return t.ToProtocolName();
        }
    }

    /// <summary>What the reader carries through one request.</summary>
    private sealed class ReadContext(ReadOnlyMemory<byte> json, bool slice, JsonLimits limits, int jsonLength)
    {
        /// <summary>The JSON as memory, when BYTES elements may be slices of it.</summary>
        public ReadOnlyMemory<byte> Json { get; } = json;

        public bool Slice { get; } = slice;

        public JsonLimits Limits { get; } = limits;

        public int JsonLength { get; } = jsonLength;

        /// <summary>Elements declared by the JSON-encoded inputs read so far.</summary>
        public long TotalElements { get; set; }
    }

    /// <summary>An input as its JSON object is read: fields arrive in any order.</summary>
    private sealed class PendingInput(int index)
    {
        private bool _checked;

        public string? Name { get; set; }

        public long[]? Shape { get; set; }

        public string? Datatype { get; set; }

        public DataType Type { get; private set; }

        public long Count { get; private set; }

        public bool HasData { get; set; }

        /// <summary>The binary_data_size parameter, or -1.</summary>
        public long BinarySize { get; set; } = -1;

        public Tensor? Tensor { get; set; }

        public bool HasHeader => Name is not null && Shape is not null && Datatype is not null;

        public string Label => Name is null ? $"inputs[{index}]" : $"input '{Name}'";

        /// <summary>Checks name, shape and datatype once all are read.</summary>
        public void CheckHeader()
        {
            if (_checked)
            {
                return;
            }

            if (Name is null)
            {
                ProntoErrors.InvalidArgument($"{Label} is missing 'name'");
            }

            if (Shape is null)
            {
                ProntoErrors.InvalidArgument($"{Label} is missing 'shape'");
            }

            if (Datatype is null)
            {
                ProntoErrors.InvalidArgument($"{Label} is missing 'datatype'");
            }

            if (!DataTypes.TryParseProtocolName(Datatype, out var type))
            {
                ProntoErrors.InvalidArgument($"{Label}: unknown datatype '{Datatype}'; valid datatypes are {ValidDatatypes}");
            }

            var count = Shapes.CountElements(Label, Shape);
            if (count == long.MaxValue)
            {
                ProntoErrors.InvalidArgument($"{Label}: shape {FormatShape(Shape)} has too many elements");
            }

            Type = type;
            Count = count;
            _checked = true;
        }

        /// <summary>Checks an input whose elements come as JSON: a type with a JSON form, within the limits.</summary>
        public void CheckJsonData(ReadContext context)
        {
            if (!Type.HasJsonForm())
            {
                ProntoErrors.InvalidArgument($"{Label}: {Type.ToProtocolName()} has no JSON form; send it as a binary tensor (parameters.binary_data_size)");
            }

            var limits = context.Limits;
            if (Count > limits.MaxTensorElements)
            {
                ProntoErrors.InvalidArgument($"{Label} has {Count} elements, more than the limit of {limits.MaxTensorElements} for a JSON tensor");
            }

            context.TotalElements += Count;
            if (context.TotalElements > limits.MaxTotalElements)
            {
                ProntoErrors.InvalidArgument(
                    $"the request's JSON inputs have {context.TotalElements} elements, more than the limit of {limits.MaxTotalElements}");
            }
        }
    }

    private sealed record PendingOutput(string Name, int Classification, bool? Binary);

    /// <summary>The request as read, before the binary part is attached.</summary>
    private sealed class Envelope
    {
        public string? Id { get; set; }

        public Dictionary<string, object>? Parameters { get; set; }

        public bool BinaryDataOutput { get; set; }

        public List<PendingInput> Inputs { get; } = [];

        public List<PendingOutput> Outputs { get; } = [];

        public JsonInferenceRequest Build(string modelName, string? modelVersion)
        {
            var inputs = new NamedTensor[Inputs.Count];
            for (var i = 0; i < inputs.Length; i++)
            {
                inputs[i] = new NamedTensor(Inputs[i].Name!, Inputs[i].Tensor!);
            }

            var outputs = new RequestedOutput[Outputs.Count];
            for (var i = 0; i < outputs.Length; i++)
            {
                var o = Outputs[i];

                // An output's own binary_data wins over the request-wide binary_data_output, as in Triton.
                outputs[i] = new RequestedOutput(o.Name, o.Classification, o.Binary ?? BinaryDataOutput);
            }

            var request = new InferenceRequest
            {
                ModelName = modelName,
                ModelVersion = modelVersion,
                Id = Id,
                Inputs = inputs,
                Outputs = outputs,
                Parameters = Parameters ?? InferenceRequest.EmptyParameters,
            };
            return new JsonInferenceRequest { Request = request, BinaryDataOutput = BinaryDataOutput };
        }
    }
}
