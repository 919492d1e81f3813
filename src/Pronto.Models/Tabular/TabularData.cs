namespace Pronto.Models.Tabular;

/// <summary>
/// A table to train on: one numeric feature vector per row (in <see cref="FeatureNames"/> order) and the row's label as
/// text (a class for classification, a number for regression); <see cref="Sources"/> names each row for errors.
/// </summary>
public sealed record TabularData(IReadOnlyList<string> FeatureNames, IReadOnlyList<float[]> Features, IReadOnlyList<string> Labels, IReadOnlyList<string> Sources);

/// <summary>What <c>pronto train NAME</c> is asked for.</summary>
public sealed record TabularOptions
{
    public const string Classification = "classification";
    public const string Regression = "regression";

    public required string Name { get; init; }

    /// <summary><see cref="Classification"/> (binary or multiclass) or <see cref="Regression"/>.</summary>
    public string Task { get; init; } = Classification;

    /// <summary>Share of the rows (of each class, for classification) held out to choose the trainer and for the report.</summary>
    public double TestFraction { get; init; } = 0.2;

    public ulong Seed { get; init; } = 42;

    /// <summary>Write the new version even when its held-out metric is worse than the live version's.</summary>
    public bool Force { get; init; }
}
