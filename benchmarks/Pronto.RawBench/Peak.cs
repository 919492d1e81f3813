using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.RawBench;

/// <summary>
/// The machine's FP32 peak as ONNX Runtime reaches it: a generated chain of three 2048 x 2048 MatMul layers
/// (<see cref="TinyModels.WriteMlp"/>) run at --batch rows, 1024 by default: 25.8 GFLOP a run, in which each 16 MB
/// weight matrix serves 1024 rows, so arithmetic, not memory, bounds it. The bias adds and ReLUs between the layers
/// are 1/2048 of the work and not counted (<see cref="FlopCounter"/> counts the MatMuls).
/// </summary>
internal static class Peak
{
    private const int Width = 2048;

    public static Row Measure(OnnxBackend backend, int rows, double seconds)
    {
        var repository = Directory.CreateTempSubdirectory("pronto-peak-");
        try
        {
            TinyModels.WriteMlp(repository.FullName, "matmul", [Width, Width, Width, Width]);
            using var model = new RawModel(backend, repository.FullName, "matmul");
            var row = RawBench.Measure.Throughput(model, rows, backend.IntraOpThreads, seconds);
            return row.WithFlops(FlopCounter.Count(model.FilePath).Total) with { Mode = "peak", Model = $"matmul 3x{Width}x{Width}" };
        }
        finally
        {
            repository.Delete(recursive: true);
        }
    }
}
