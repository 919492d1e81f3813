namespace Pronto.Core.Repository;

/// <summary>The life of one model version, with Triton's names (<see cref="ModelStates.ToProtocolName"/>).</summary>
public enum ModelState
{
    Loading,
    Ready,
    /// <summary>Not serving: never loaded, unloaded, or failed to load (the reason says which).</summary>
    Unavailable,
    Unloading,
}

public static class ModelStates
{
    public static string ToProtocolName(this ModelState state) => state switch
    {
        ModelState.Loading => "LOADING",
        ModelState.Ready => "READY",
        ModelState.Unloading => "UNLOADING",
        _ => "UNAVAILABLE",
    };
}
