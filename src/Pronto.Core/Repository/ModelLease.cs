namespace Pronto.Core.Repository;

/// <summary>
/// Holds a <see cref="ServedModel"/> in use for the length of one inference. Dispose it when the
/// inference is done: an unload in the meantime disposes the engine instance only after the last lease.
/// </summary>
public readonly struct ModelLease : IDisposable
{
    internal ModelLease(ServedModel model) => Model = model;

    public ServedModel Model { get; }

    public void Dispose() => Model?.Release();
}
