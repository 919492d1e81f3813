namespace Pronto.Server;

/// <summary>Server-wide state handlers read: whether the start-up model load has finished.</summary>
internal sealed class ServerState
{
    /// <summary>The start-up load of the repository's models; set when the server starts.</summary>
    public Task Loading { get; set; } = Task.CompletedTask;

    public bool ModelsLoaded => Loading.IsCompleted;
}
