using System.Globalization;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Onnx;

namespace Pronto.LoadGen;

/// <summary>
/// The correctness sample of a load run: every <see cref="Every"/>-th response is compared, output by output, with
/// the outputs of the same request run once in-process through Pronto's own engine path. Floating-point elements
/// match within <see cref="Tolerance"/> (absolute below 1, relative above: batched and unbatched engine runs may
/// round differently); integer, BOOL and BYTES elements match exactly.
/// </summary>
public sealed class ResponseCheck
{
    /// <summary>The default tolerance for FP16, BF16, FP32 and FP64 elements.</summary>
    public const double DefaultTolerance = 1e-4;

    private readonly IReadOnlyList<NamedTensor> _expected;

    /// <param name="expected">The outputs every checked response must match (kept, not copied).</param>
    /// <param name="every">Check request 0, <paramref name="every"/>, 2 * <paramref name="every"/>, ...</param>
    /// <param name="tolerance">See <see cref="Tolerance"/>.</param>
    public ResponseCheck(IReadOnlyList<NamedTensor> expected, int every, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentOutOfRangeException.ThrowIfLessThan(every, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(tolerance);
        _expected = expected;
        Every = every;
        Tolerance = tolerance;
    }

    public int Every { get; }

    /// <summary>Two floating-point elements a and b match when |a - b| &lt;= tolerance * max(1, |a|, |b|).</summary>
    public double Tolerance { get; }

    /// <summary>
    /// Runs <paramref name="request"/> once through <see cref="InferenceService.Infer"/> on the model of that name
    /// in the repository at <paramref name="repositoryRoot"/> (ONNX Runtime, the server's default options), and
    /// checks against its outputs.
    /// </summary>
    public static ResponseCheck FromRepository(string repositoryRoot, InferenceRequest request, int every, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var repository = new ModelRepository(repositoryRoot, [new OnnxBackend()]);
        repository.Load(request.ModelName);

        // The outputs are new tensors that outlive the repository (IModelInstance.Run hands them over).
        var outputs = new InferenceService(repository).InferDirect(request).Outputs;
        return new ResponseCheck(outputs, every, tolerance);
    }

    /// <summary>Whether the response to request <paramref name="index"/> (0-based) is one to check.</summary>
    public bool IsDue(int index) => index % Every == 0;

    /// <summary>Null when <paramref name="actual"/> matches the expected outputs, else the first difference.</summary>
    public string? Compare(IReadOnlyList<NamedTensor> actual)
    {
        ArgumentNullException.ThrowIfNull(actual);
        if (actual.Count != _expected.Count)
        {
            return $"the response has {actual.Count} outputs, the direct run {_expected.Count}";
        }

        foreach (var expected in _expected)
        {
            var output = Find(actual, expected.Name);
            var difference = output is null ? "is missing" : Compare(output.Tensor, expected.Tensor);
            if (difference is not null)
            {
                return $"output '{expected.Name}' {difference}";
            }
        }

        return null;
    }

    private string? Compare(Tensor actual, Tensor expected)
    {
        if (actual.DataType != expected.DataType || !actual.Shape.SequenceEqual(expected.Shape))
        {
            return $"is {actual}, the direct run's {expected}";
        }

        return expected.DataType switch
        {
            DataType.FP16 or DataType.BF16 or DataType.FP32 or DataType.FP64 => CompareFloats(Widen(actual), Widen(expected)),
            DataType.Bytes => CompareStrings(actual.Strings, expected.Strings),
            _ => CompareBytes(actual, expected),
        };
    }

    private string? CompareFloats(double[] actual, double[] expected)
    {
        for (var i = 0; i < expected.Length; i++)
        {
            double a = actual[i], e = expected[i];
            var close = Math.Abs(a - e) <= Tolerance * Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(e)));
            if (!close && !(double.IsNaN(a) && double.IsNaN(e)))
            {
                return string.Create(CultureInfo.InvariantCulture, $"element {i}: {a:R}, the direct run {e:R} (tolerance {Tolerance})");
            }
        }

        return null;
    }

    private static string? CompareStrings(IReadOnlyList<ReadOnlyMemory<byte>> actual, IReadOnlyList<ReadOnlyMemory<byte>> expected)
    {
        for (var i = 0; i < expected.Count; i++)
        {
            if (!actual[i].Span.SequenceEqual(expected[i].Span))
            {
                return $"element {i}: '{Text(actual[i])}', the direct run '{Text(expected[i])}'";
            }
        }

        return null;
    }

    private static string? CompareBytes(Tensor actual, Tensor expected)
    {
        var at = actual.Data.Span.CommonPrefixLength(expected.Data.Span);
        return at == expected.Data.Length ? null : $"element {at / expected.DataType.ElementSize()} differs from the direct run's";
    }

    /// <summary>The elements of a floating-point tensor as doubles (exact for every source type).</summary>
    private static double[] Widen(Tensor tensor) => tensor.DataType switch
    {
        DataType.FP16 => [.. tensor.ToArray<Half>().Select(v => (double)v)],
        DataType.BF16 => [.. tensor.ToArray<ushort>().Select(bits => (double)BitConverter.Int32BitsToSingle(bits << 16))],
        DataType.FP32 => [.. tensor.ToArray<float>().Select(v => (double)v)],
        _ => tensor.ToArray<double>(),
    };

    private static string Text(ReadOnlyMemory<byte> element) => System.Text.Encoding.UTF8.GetString(element.Span);

    private static NamedTensor? Find(IReadOnlyList<NamedTensor> outputs, string name)
    {
        foreach (var output in outputs)
        {
            if (output.Name == name)
            {
                return output;
            }
        }

        return null;
    }
}
