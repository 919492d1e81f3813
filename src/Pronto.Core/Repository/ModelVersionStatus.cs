namespace Pronto.Core.Repository;

/// <summary>One row of the repository index: a model version and its state, with the reason when it is not ready.</summary>
public sealed record ModelVersionStatus(string Name, long? Version, ModelState State, string Reason);
