using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.RawBench;

/// <summary>
/// The machine's FP32 peak as ONNX Runtime reaches it: the better of two compute-bound generated kernels, measured one
/// after the other at the same threads. (1) A chain of three 2048 x 2048 MatMul layers (<see cref="TinyModels.WriteMlp"/>)
/// at --batch rows, 1024 by default: 25.8 GFLOP a run, each 16 MB weight matrix serving 1024 rows. (2) A chain of four
/// 3 x 3 convolutions over 256 channels at 28 x 28 (<see cref="TinyModels.WriteConvChain"/>), 8 images a run: 29.6
/// GFLOP, the kernels a CNN such as resnet18 runs (ONNX Runtime's NCHWc convolutions reach more of the machine than
/// its MatMul here, so a MatMul-only peak would put resnet18 above 1.0). Bias adds and ReLUs are not counted
/// (<see cref="FlopCounter"/> counts the MatMuls and Convs).
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
            TinyModels.WriteConvChain(repository.FullName, "conv", channels: 256, size: 28, layers: 4);
            var matmul = Kernel(backend, repository.FullName, "matmul", rows, seconds) with { Model = $"matmul 3x{Width}x{Width}" };
            var conv = Kernel(backend, repository.FullName, "conv", 8, seconds) with { Model = "conv 4x3x3x256 at 28x28" };
            return matmul.GflopPerSecond >= conv.GflopPerSecond ? matmul : conv;
        }
        finally
        {
            repository.Delete(recursive: true);
        }
    }

    private static Row Kernel(OnnxBackend backend, string repository, string name, int rows, double seconds)
    {
        using var model = new RawModel(backend, repository, name);
        var row = RawBench.Measure.Throughput(model, rows, backend.IntraOpThreads, seconds).WithFlops(FlopCounter.Count(model.FilePath).Total) with { Mode = "peak" };
        Console.Error.WriteLine($"peak kernel {name}: {row.GflopPerSecond:F0} GFLOP/s");
        return row;
    }
}
