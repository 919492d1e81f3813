namespace Pronto.Batch.Output;

/// <summary>Writes one output file's rows (values aligned with the output columns) and completes it.</summary>
internal interface IPartWriter : IAsyncDisposable
{
    ValueTask WriteAsync(object?[] row, CancellationToken cancellationToken);

    /// <summary>Writes what is buffered and closes the file. The caller then makes it durable and renames it.</summary>
    ValueTask CompleteAsync(CancellationToken cancellationToken);
}
