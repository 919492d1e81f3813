namespace Pronto.Models.Fraud;

/// <summary>Settings for <see cref="FraudTrainer.Train"/>. The defaults produce the shipped model.</summary>
public sealed record FraudTrainingOptions
{
    /// <summary>Seed for the data generator and ML.NET; the same options give a byte-identical model.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Rows drawn first from the generator stream, used for training.</summary>
    public int TrainRows { get; init; } = 60_000;

    /// <summary>Rows drawn next from the same stream (never overlapping the training rows), held out for the ROC AUC.</summary>
    public int TestRows { get; init; } = 20_000;

    /// <summary>Boosting rounds. 100 trees of 20 leaves train in a few seconds on one thread.</summary>
    public int NumberOfTrees { get; init; } = 100;

    /// <summary>Leaves per tree.</summary>
    public int NumberOfLeaves { get; init; } = 20;

    /// <summary>Smallest number of training rows a leaf may hold; 50 keeps leaves on the ~3 % fraud class meaningful.</summary>
    public int MinimumExampleCountPerLeaf { get; init; } = 50;

    /// <summary>Shrinkage per tree.</summary>
    public double LearningRate { get; init; } = 0.1;
}
