using System.Buffers;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using Pronto.Core.Tensors;
using Pronto.Onnx;

namespace Pronto.MicroBench;

/// <summary>
/// <see cref="OrtTensorConverter"/> on the ResNet18-sized FP32 [1,3,224,224] tensor: wrapping it as an input
/// OrtValue (pinned, no copy) and copying an output OrtValue of that size into a new tensor.
/// </summary>
[MemoryDiagnoser]
public class OrtConversionBenchmarks
{
    private Tensor _image = null!;
    private OrtValue _value = null!;
    private MemoryHandle _pin;

    [GlobalSetup]
    public void Setup()
    {
        _image = CodecPayload.Image().Tensor;
        _value = OrtTensorConverter.ToOrtValue(_image, out _pin);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _value.Dispose();
        _pin.Dispose();
    }

    [Benchmark]
    public void ToOrtValue()
    {
        // The order a run releases them in: the value, then the pin under it.
        var value = OrtTensorConverter.ToOrtValue(_image, out var pin);
        value.Dispose();
        pin.Dispose();
    }

    [Benchmark]
    public Tensor ToTensor() => OrtTensorConverter.ToTensor(_value);
}
