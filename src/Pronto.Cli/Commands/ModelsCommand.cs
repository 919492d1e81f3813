using System.CommandLine;
using Pronto.Core.Configuration;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Models;
using Spectre.Console;

namespace Pronto.Cli.Commands;

/// <summary><c>pronto models list</c> and <c>pronto models inspect NAME</c>.</summary>
internal static class ModelsCommand
{
    public static Command Create(CliContext context)
    {
        var list = new Command("list", "Load every model of the repository and show its versions, state, inputs and outputs.");
        list.SetAction(parse => List(context, parse.GetValue(context.RepositoryOption)));

        var name = new Argument<string>("name") { Description = "The model's name (its folder in the repository)." };
        var inspect = new Command("inspect", "Load one model and show its config, processing and state.") { name };
        inspect.SetAction(parse => Inspect(context, parse.GetValue(context.RepositoryOption), parse.GetValue(name)!));

        var prepareName = new Argument<string>("name") { Description = $"A zoo model: {string.Join(", ", BundledRepository.ZooNames)}." };
        var prepare = new Command("prepare", "Build a zoo model into the repository (the bundled default unless -r names another), training it when it is one Pronto trains; a model already there is kept.") { prepareName };
        prepare.SetAction(parse => Prepare(context, parse.GetValue(context.RepositoryOption), parse.GetValue(prepareName)!));

        return new Command("models", "List, inspect and prepare the models of a repository.") { list, inspect, prepare };
    }

    private static int List(CliContext context, string? repositoryPath)
    {
        using var repository = context.OpenRepository(repositoryPath);
        foreach (var model in repository.DiscoverModelNames())
        {
            // A model that fails to load shows as UNAVAILABLE with its reason; the others are unaffected.
            repository.TryLoad(model);
        }

        var table = new Table().AddColumns("Name", "Versions", "State", "Inputs", "Outputs");
        foreach (var group in repository.Index().GroupBy(s => s.Name))
        {
            var rows = group.ToList();
            var versions = string.Join(", ", rows.Where(r => r.Version is not null).Select(r => r.Version));
            var state = string.Join(", ", rows.Select(r => r.State.ToProtocolName()).Distinct());
            var reason = rows.FirstOrDefault(r => r.State != ModelState.Ready)?.Reason;
            string inputs = "", outputs = "";
            if (rows.Exists(r => r.State == ModelState.Ready))
            {
                using var lease = repository.Acquire(group.Key);
                (inputs, outputs) = DescribeTensors(lease.Model);
            }
            else if (!string.IsNullOrEmpty(reason))
            {
                state += ": " + reason;
            }

            table.AddRow(Markup.Escape(group.Key), Markup.Escape(versions), Markup.Escape(state), Markup.Escape(inputs), Markup.Escape(outputs));
        }

        context.Console.Write(table);
        return ExitCodes.Success;
    }

    private static int Prepare(CliContext context, string? repositoryPath, string name)
    {
        if (!BundledRepository.ZooNames.Contains(name))
        {
            throw new Core.Errors.ProntoException(Core.Errors.ErrorCode.NotFound, $"'{name}' is not a zoo model; the zoo prepares {string.Join(", ", BundledRepository.ZooNames)}");
        }

        var root = repositoryPath is null ? ZooPaths.DefaultRepository() : Path.GetFullPath(repositoryPath);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var built = BundledRepository.Prepare(root, name, message => context.Error.WriteLine(message));
        var folder = Path.Combine(root, name);
        context.Output.WriteLine(built
            ? $"prepared '{name}' in {folder} ({System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)} s)"
            : $"'{name}' is already prepared in {folder}");
        var card = Path.Combine(folder, "MODEL_CARD.md");
        if (built && File.Exists(card))
        {
            context.Output.WriteLine($"model card: {card}");
        }

        return ExitCodes.Success;
    }

    private static int Inspect(CliContext context, string? repositoryPath, string name)
    {
        using var repository = context.OpenRepository(repositoryPath);
        repository.ModelDirectory(name);
        var loaded = repository.TryLoad(name);
        var status = repository.Index().Where(s => s.Name == name).ToList();
        if (status.Count == 0)
        {
            throw new Core.Errors.ProntoException(Core.Errors.ErrorCode.NotFound, $"unknown model '{name}' in {repository.Root}");
        }

        foreach (var s in status)
        {
            context.Output.WriteLine($"{s.Name} version {s.Version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}: {s.State.ToProtocolName()}{(string.IsNullOrEmpty(s.Reason) ? "" : " (" + s.Reason + ")")}");
        }

        if (!loaded)
        {
            return ExitCodes.Unavailable;
        }

        using var lease = repository.Acquire(name);
        var model = lease.Model;
        var (inputs, outputs) = DescribeTensors(model);
        context.Output.WriteLine($"inputs:  {inputs}");
        context.Output.WriteLine($"outputs: {outputs}");
        context.Output.WriteLine($"folder:  {model.ModelDirectory}");
        context.Output.WriteLine("config.pbtxt:");
        context.Output.Write(ModelConfigText.Format(model.Config));
        return ExitCodes.Success;
    }

    /// <summary>The model metadata's inputs and outputs (<see cref="ModelSignature"/>): the processing ones first, then "or raw:" the engine's.</summary>
    internal static (string Inputs, string Outputs) DescribeTensors(ServedModel model) =>
        (Describe(model.Signature.Inputs, "or raw: "), Describe(model.Signature.Outputs, "also: "));

    private static string Describe(IReadOnlyList<TensorSignature> tensors, string engineLead)
    {
        var processing = tensors.Where(t => t.Description is not null).Select(t => $"{t} ({t.Description})");
        var engine = string.Join(", ", tensors.Where(t => t.Description is null));
        var first = string.Join(", ", processing);
        return first.Length == 0 ? engine : engine.Length == 0 ? first : $"{first}; {engineLead}{engine}";
    }
}
