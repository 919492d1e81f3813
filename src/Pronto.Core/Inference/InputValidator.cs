using System.Numerics;
using System.Runtime.InteropServices;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Tensors;

namespace Pronto.Core.Inference;

/// <summary>
/// Checks request inputs against the model's config before the engine sees them: names, datatypes, ranks,
/// fixed dimensions, batch size, and (where the model asks for it) finite floating-point values. A malformed request is an invalid argument
/// with a message that says which input and what was expected; it never reaches the engine (where bad shapes
/// have crashed other servers).
/// </summary>
public static class InputValidator
{
    /// <summary>
    /// Config parameter that refuses NaN and infinities in floating-point inputs (<c>"true"</c>) with a 400 naming
    /// the element. Off by default, as in Triton and KServe: isnan, isinf and cast models need them, and some models
    /// read NaN as "missing". A model for which a NaN would silently become a confident wrong answer (the bundled
    /// fraud classifier) turns it on.
    /// </summary>
    public const string RejectNonFiniteKey = ProntoParameters.RejectNonFinite;

    public static void Validate(ModelConfig config, IReadOnlyList<NamedTensor> inputs)
    {
        ValidateShapes(config, inputs);
        if (config.Parameters.TryGetValue(RejectNonFiniteKey, out var reject) && reject == "true")
        {
            foreach (var input in inputs)
            {
                CheckFinite(config, input);
            }
        }
    }

    private static void CheckFinite(ModelConfig config, NamedTensor input)
    {
        var tensor = input.Tensor;
        var index = tensor.DataType switch
        {
            DataType.FP32 => FirstNonFinite(tensor.Span<float>()),
            DataType.FP64 => FirstNonFinite(tensor.Span<double>()),
            DataType.FP16 => FirstNonFinite(tensor.Span<Half>()),
            DataType.BF16 => FirstNonFiniteBF16(tensor.Span<ushort>()),
            _ => -1,
        };
        if (index >= 0)
        {
            ProntoErrors.InvalidArgument($"input '{input.Name}' element {index} is NaN or infinite; model '{config.Name}' takes finite numbers only (its config sets {RejectNonFiniteKey})");
        }
    }

    private static int FirstNonFinite<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // x - x is 0 for finite x and NaN for NaN and infinities: one vector compare per lane group.
        var i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && values.Length >= Vector<T>.Count)
        {
            var vectors = MemoryMarshal.Cast<T, Vector<T>>(values);
            for (; i < vectors.Length; i++)
            {
                var v = vectors[i];
                if (!Vector.EqualsAll(v - v, Vector<T>.Zero))
                {
                    break;
                }
            }

            i *= Vector<T>.Count;
        }

        for (; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static int FirstNonFiniteBF16(ReadOnlySpan<ushort> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            // All exponent bits set: infinity or NaN.
            if ((values[i] & 0x7F80) == 0x7F80)
            {
                return i;
            }
        }

        return -1;
    }

    private static void ValidateShapes(ModelConfig config, IReadOnlyList<NamedTensor> inputs)
    {
        foreach (var input in inputs)
        {
            if (config.Inputs.Find(t => t.Name == input.Name) is null)
            {
                ProntoErrors.InvalidArgument($"unexpected input '{input.Name}' for model '{config.Name}'; its inputs are {string.Join(", ", config.Inputs.Select(t => t.Name))}");
            }
        }

        long batch = -1;
        foreach (var expected in config.Inputs)
        {
            NamedTensor? found = null;
            foreach (var input in inputs)
            {
                if (input.Name == expected.Name)
                {
                    if (found is not null)
                    {
                        ProntoErrors.InvalidArgument($"input '{expected.Name}' is given more than once");
                    }

                    found = input;
                }
            }

            if (found is null)
            {
                if (!expected.Optional)
                {
                    ProntoErrors.InvalidArgument($"missing input '{expected.Name}' for model '{config.Name}' (expected {Describe(config, expected)})");
                }

                continue;
            }

            var tensor = found.Tensor;
            if (tensor.DataType != expected.DataType)
            {
                ProntoErrors.InvalidArgument($"input '{expected.Name}': expected datatype {expected.DataType.ToProtocolName()}, got {tensor.DataType.ToProtocolName()}");
            }

            var dims = expected.Dims;
            var shape = tensor.Shape;
            var batched = config.MaxBatchSize > 0;
            var rank = dims.Length + (batched ? 1 : 0);
            if (shape.Length != rank)
            {
                ProntoErrors.InvalidArgument($"input '{expected.Name}': expected shape {Describe(config, expected)}, got [{string.Join(",", shape)}]");
            }

            if (batched)
            {
                var n = shape[0];
                if (n < 1 || n > config.MaxBatchSize)
                {
                    ProntoErrors.InvalidArgument($"input '{expected.Name}': batch size {n} is outside 1..{config.MaxBatchSize} (max_batch_size of model '{config.Name}')");
                }

                if (batch >= 0 && n != batch)
                {
                    ProntoErrors.InvalidArgument($"input '{expected.Name}': batch size {n} differs from the other inputs' {batch}");
                }

                batch = n;
            }

            var offset = batched ? 1 : 0;
            for (var d = 0; d < dims.Length; d++)
            {
                if (dims[d] >= 0 && shape[d + offset] != dims[d])
                {
                    ProntoErrors.InvalidArgument($"input '{expected.Name}': expected shape {Describe(config, expected)}, got [{string.Join(",", shape)}]");
                }
            }
        }
    }

    /// <summary>The full expected shape, with the batch dimension as -1: <c>[-1,3,224,224]</c>.</summary>
    public static string Describe(ModelConfig config, TensorConfig tensor)
    {
        var dims = config.MaxBatchSize > 0 ? tensor.Dims.Prepend(-1) : tensor.Dims;
        return $"{tensor.DataType.ToProtocolName()} [{string.Join(",", dims)}]";
    }
}
