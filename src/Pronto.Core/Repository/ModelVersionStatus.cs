namespace Pronto.Core.Repository;

/// <summary>
/// One row of the repository index: a model version and its state, with the reason when it is not ready; a loaded
/// version also carries its resident memory (<see cref="ServedModel.ResidentBytes"/>) and when it last served.
/// </summary>
public sealed record ModelVersionStatus(string Name, long? Version, ModelState State, string Reason)
{
    public long? ResidentBytes { get; init; }

    public DateTimeOffset? LastUsed { get; init; }
}
