namespace Pronto.MicroBench;

/// <summary>The requests the benchmarks decode, encode and batch.</summary>
public enum PayloadKind
{
    /// <summary>benchmarks/bodies/fraud-features.json: one row of 6 FP32 features.</summary>
    Fraud,

    /// <summary>One FP32 [1,3,224,224] image, ResNet18's input, generated from a seed.</summary>
    ResNet18,

    /// <summary>benchmarks/bodies/minilm.json: one BYTES text.</summary>
    MiniLm,
}
