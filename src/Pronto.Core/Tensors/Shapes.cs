using Pronto.Core.Errors;

namespace Pronto.Core.Tensors;

/// <summary>Shape helpers shared by the protocol decoders (JSON, binary, gRPC).</summary>
public static class Shapes
{
    public static string Format(ReadOnlySpan<long> shape) => $"[{string.Join(",", shape.ToArray())}]";

    /// <summary>
    /// Elements of a shape a client sent. A negative dimension is an invalid argument that names <paramref name="label"/>
    /// (e.g. "input 'x'"); a product too large for a long is <see cref="long.MaxValue"/>, unless a zero dimension makes
    /// it 0, so callers compare it against their own limit without overflow.
    /// </summary>
    public static long CountElements(string label, ReadOnlySpan<long> shape)
    {
        long count = 1;
        var hasZero = false;
        var overflows = false;
        foreach (var dim in shape)
        {
            if (dim < 0)
            {
                ProntoErrors.InvalidArgument($"{label}: shape {Format(shape)} has a negative dimension");
            }

            if (dim == 0)
            {
                hasZero = true;
            }
            else if (count > long.MaxValue / dim)
            {
                overflows = true;
            }
            else
            {
                count *= dim;
            }
        }

        return hasZero ? 0 : overflows ? long.MaxValue : count;
    }
}
