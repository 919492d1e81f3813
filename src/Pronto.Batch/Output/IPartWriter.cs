using Pronto.Batch.Scoring;

namespace Pronto.Batch.Output;

/// <summary>Writes one output file's batches (the good rows of each, in the output columns' order) and completes it.</summary>
internal interface IPartWriter : IAsyncDisposable
{
    /// <summary>Writes (or copies into its buffer) the batch's good rows; the batch's arrays are not kept.</summary>
    ValueTask WriteAsync(ScoredColumns batch, CancellationToken cancellationToken);

    /// <summary>Writes what is buffered and closes the file. The caller then makes it durable and renames it.</summary>
    ValueTask CompleteAsync(CancellationToken cancellationToken);
}
