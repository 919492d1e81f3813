using Pronto.Core.Inference;

namespace Pronto.Server.Training;

/// <summary>
/// A training job's request, as <c>POST /v2/repository/models/{name}/finetune</c> or <c>/train</c> gives it:
/// <see cref="Kind"/> <c>finetune</c> (a classifier head on <see cref="BaseModel"/>'s embeddings) or <c>train</c>
/// (a model on a table's numeric columns). <see cref="Data"/> is a path on the server's machine.
/// </summary>
public sealed record TrainingRequest
{
    public const string Finetune = "finetune";
    public const string Train = "train";

    public required string Kind { get; init; }

    public required string Model { get; init; }

    public required string Data { get; init; }

    public string? BaseModel { get; init; }

    public string? TextColumn { get; init; }

    public string? ImageColumn { get; init; }

    /// <summary>The label column (finetune's default: <c>label</c>; train needs one).</summary>
    public string? LabelColumn { get; init; }

    /// <summary>train: <c>classification</c> or <c>regression</c>.</summary>
    public string? Task { get; init; }

    public IReadOnlyList<string>? Features { get; init; }

    public double? TestFraction { get; init; }

    public ulong? Seed { get; init; }

    public bool Force { get; init; }
}

/// <summary>How far a running job is: <see cref="Stage"/> (finetune: "embedding", then "training"; train: "training"), <see cref="Done"/> of <see cref="Total"/>.</summary>
public sealed record TrainingProgress(string Stage, long Done, long Total);

/// <summary>What a training job produced: the version written (null when it was not promoted) and its report.</summary>
public sealed record TrainingOutcome(long Version, string? VersionDirectory, bool Promoted, string Reason, string ReportJson);

/// <summary>
/// Trains a model for the server's training job API. The server library ships no trainer (training needs ML.NET and
/// the data readers of Pronto.Models and the CLI): the host registers one, as <c>pronto serve</c> does; without one
/// the API answers 501.
/// </summary>
public interface IModelTrainer
{
    /// <summary>
    /// Runs <paramref name="request"/> against the served repository (base models through <paramref name="service"/>);
    /// writes the version atomically or not at all, tells <paramref name="progress"/> how far it is, and stops with
    /// <see cref="OperationCanceledException"/> (writing nothing) when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    Task<TrainingOutcome> TrainAsync(TrainingRequest request, InferenceService service, Action<TrainingProgress> progress, CancellationToken cancellationToken);
}
