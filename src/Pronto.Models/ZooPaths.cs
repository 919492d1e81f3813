namespace Pronto.Models;

/// <summary>Where the bundled repository lives and where its sources are found.</summary>
public static class ZooPaths
{
    /// <summary>Environment variable naming the model repository for every Pronto command.</summary>
    public const string RepositoryVariable = "PRONTO_MODEL_REPOSITORY";

    /// <summary>
    /// Bumped whenever a bundled model or its config changes, so a cache built by an older Pronto is not reused.
    /// </summary>
    public const string ZooVersion = "7";

    /// <summary>
    /// The default repository: <c>$PRONTO_MODEL_REPOSITORY</c>, else <c>$XDG_CACHE_HOME/pronto/models-v7</c>
    /// (<c>~/.cache/pronto/models-v7</c>). Prepared on first use.
    /// </summary>
    public static string DefaultRepository()
    {
        var configured = Environment.GetEnvironmentVariable(RepositoryVariable);
        if (!string.IsNullOrEmpty(configured))
        {
            return Path.GetFullPath(configured);
        }

        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(cache))
        {
            cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        }

        return Path.Combine(cache, "pronto", "models-v" + ZooVersion);
    }

    /// <summary>The ResNet18 package's ONNX files, copied beside the assemblies by the package's build props.</summary>
    public static string ResNetFile(string relative) => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", relative);
}
