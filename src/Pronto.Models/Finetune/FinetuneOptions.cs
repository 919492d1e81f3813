namespace Pronto.Models.Finetune;

/// <summary>What <see cref="Finetuner"/> trains and where it writes.</summary>
public sealed record FinetuneOptions
{
    /// <summary>The new model's name: a folder of the repository, new or written by an earlier finetune.</summary>
    public required string Name { get; init; }

    /// <summary>The base model (minilm or resnet18, or any model with text / image processing and embedding output).</summary>
    public required string BaseModel { get; init; }

    /// <summary>Share of each class held out for the report; the rest trains the head.</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>Told (stage, done, total) as the work goes: "embedding" after each batch of examples, then "training".</summary>
    public Action<string, int, int>? Progress { get; init; }

    /// <summary>Seeds the split; training itself has no randomness (full-batch gradient descent from zeros).</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>Repository folder the new version is written into; null: the base model's repository.</summary>
    public string? TargetRepository { get; init; }

    /// <summary>L2 penalty on the head's weights (over standardized features).</summary>
    public double L2 { get; init; } = 1e-3;

    /// <summary>Gradient steps of the full-batch (Nesterov-accelerated) descent.</summary>
    public int Iterations { get; init; } = 300;

    /// <summary>Write the new version even when its held-out macro-F1 is below the live version's.</summary>
    public bool Force { get; init; }
}
