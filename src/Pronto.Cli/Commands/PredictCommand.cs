using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Text;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Processing;
using Pronto.Core.Protocol;
using Pronto.Core.Tensors;
using Spectre.Console;

namespace Pronto.Cli.Commands;

/// <summary>
/// <c>pronto predict NAME</c>: one inference on this machine, no network. Inputs come as the model's
/// processing expects them (<c>--json</c> fields, <c>--text</c>, <c>--image</c>) or as a protocol request (<c>--input</c>).
/// </summary>
internal static class PredictCommand
{
    public static Command Create(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "The model to run." };
        var json = new Option<string[]>("--json") { Description = "A JSON object of named fields (repeat for a batch), for models that take fields.", AllowMultipleArgumentsPerToken = false };
        var text = new Option<string[]>("--text") { Description = "Text to embed or classify (repeat for a batch)." };
        var image = new Option<string[]>("--image") { Description = "Path of an image file (repeat for a batch)." };
        var input = new Option<string?>("--input") { Description = "A JSON inference request file (Open Inference Protocol v2 body)." };
        var top = new Option<int>("--top", "-k") { Description = "How many classes to show for a classifier.", DefaultValueFactory = _ => 3 };
        var format = new Option<string>("--output", "-o") { Description = "table or json.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        var command = new Command("predict", "Run one prediction on this machine, fully offline.") { name, json, text, image, input, top, format };
        command.SetAction(parse =>
        {
            var request = new PredictRequest(
                parse.GetValue(name)!,
                parse.GetValue(json) ?? [],
                parse.GetValue(text) ?? [],
                parse.GetValue(image) ?? [],
                parse.GetValue(input),
                parse.GetValue(top),
                parse.GetValue(format)!);
            return Run(context, parse.GetValue(context.RepositoryOption), request);
        });
        return command;
    }

    private static int Run(CliContext context, string? repositoryPath, PredictRequest args)
    {
        if (args.Top < 1)
        {
            ProntoErrors.InvalidArgument($"--top must be at least 1, got {args.Top}");
        }

        using var repository = context.OpenRepository(repositoryPath);
        repository.ModelDirectory(args.Model);
        repository.Load(args.Model);
        var service = CliContext.Service(repository);

        InferenceRequest request;
        using (var lease = repository.Acquire(args.Model))
        {
            request = BuildRequest(args, lease.Model);
        }

        var response = service.Infer(request);
        IReadOnlyList<string>? labels;
        using (var lease = repository.Acquire(args.Model))
        {
            labels = lease.Model.Processing.GetLabels(response.Outputs[0].Name);
        }

        if (args.Format == "json")
        {
            WriteJson(context, response, labels is null ? null : args.Top, labels);
        }
        else
        {
            WriteTable(context, response, args.Top, labels);
        }

        return ExitCodes.Success;
    }

    private static InferenceRequest BuildRequest(PredictRequest args, Core.Repository.ServedModel model)
    {
        var given = (args.Json.Length > 0 ? 1 : 0) + (args.Text.Length > 0 ? 1 : 0) + (args.Image.Length > 0 ? 1 : 0) + (args.InputFile is null ? 0 : 1);
        if (given != 1)
        {
            ProntoErrors.InvalidArgument($"give exactly one of --json, --text, --image or --input; model '{model.Name}' takes {Expected(model)}");
        }

        if (args.InputFile is not null)
        {
            if (!File.Exists(args.InputFile))
            {
                ProntoErrors.NotFound($"request file '{args.InputFile}' does not exist");
            }

            var body = File.ReadAllBytes(args.InputFile);
            return InferenceJson.ReadRequest(body.AsMemory(), body.Length, model.Name, null).Request;
        }

        var preparer = model.Processing.Preparer;
        var (inputName, items) = args switch
        {
            { Json.Length: > 0 } => ("fields", args.Json.Select(j => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(j)).ToArray()),
            { Text.Length: > 0 } => ("text", args.Text.Select(t => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(t)).ToArray()),
            _ => ("image", args.Image.Select(ReadImage).ToArray()),
        };
        if (preparer is null || preparer.InputName != inputName)
        {
            ProntoErrors.InvalidArgument($"model '{model.Name}' does not take --{(inputName == "fields" ? "json" : inputName)}; it takes {Expected(model)}");
        }

        return new InferenceRequest
        {
            ModelName = model.Name,
            Inputs = [new NamedTensor(inputName, Tensor.FromStrings(items, items.Length))],
        };
    }

    private static ReadOnlyMemory<byte> ReadImage(string path) => File.Exists(path)
        ? File.ReadAllBytes(path)
        : ProntoErrors.InvalidArgument<byte[]>($"image file '{path}' does not exist");

    private static string Expected(Core.Repository.ServedModel model) => model.Processing.Preparer switch
    {
        { InputName: "fields" } p => $"--json with {p.ItemDescription} ({string.Join(", ", ((FieldsPreparer)p).FieldNames)})",
        { InputName: "text" } => "--text",
        { InputName: "image" } => "--image",
        _ => "--input with a JSON inference request",
    };

    private static void WriteTable(CliContext context, InferenceResponse response, int top, IReadOnlyList<string>? labels)
    {
        foreach (var output in response.Outputs)
        {
            var tensor = output.Tensor;
            if (labels is not null && tensor.DataType is DataType.FP32 or DataType.FP64)
            {
                var rows = Classification.TopK(tensor, top, labels);
                var table = new Table().AddColumns("Row", "Label", "Probability");
                for (var r = 0; r < rows.Length; r++)
                {
                    foreach (var c in rows[r])
                    {
                        table.AddRow(r.ToString(CultureInfo.InvariantCulture), Markup.Escape(c.Label), (c.Score * 100).ToString("F1", CultureInfo.InvariantCulture) + "%");
                    }
                }

                context.Console.Write(table);
                continue;
            }

            context.Output.WriteLine($"{output.Name}: {tensor}");
            if (tensor.DataType == DataType.FP32 && tensor.Rank == 2)
            {
                var values = tensor.Span<float>();
                var dim = (int)tensor.Shape[1];
                for (var r = 0; r < tensor.Shape[0]; r++)
                {
                    var row = values.Slice(r * dim, dim);
                    var norm = 0.0;
                    foreach (var v in row)
                    {
                        norm += v * v;
                    }

                    var head = string.Join(", ", row[..Math.Min(8, dim)].ToArray().Select(v => v.ToString("F4", CultureInfo.InvariantCulture)));
                    context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  [{r}] norm {Math.Sqrt(norm):F4}: [{head}{(dim > 8 ? ", ..." : "")}]"));
                }
            }
        }
    }

    private static void WriteJson(CliContext context, InferenceResponse response, int? top, IReadOnlyList<string>? labels)
    {
        var outputs = response.Outputs.ToList();
        if (top is { } k && labels is not null)
        {
            // The classification extension's form: "score:index:label", as the server returns it.
            var first = response.Outputs[0];
            outputs.Add(new NamedTensor(first.Name + "_top", Classification.ToTensor(first.Tensor, k, labels)));
        }

        var buffer = new ArrayBufferWriter<byte>();
        InferenceJson.WriteResponse(buffer, new InferenceResponse { ModelName = response.ModelName, ModelVersion = response.ModelVersion, Id = response.Id, Outputs = outputs });
        context.Output.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    private sealed record PredictRequest(string Model, string[] Json, string[] Text, string[] Image, string? InputFile, int Top, string Format);
}
