using System.Collections;
using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Data.Common;
using Pronto.Core.Errors;
using Pronto.Sql;
using Spectre.Console;

namespace Pronto.Cli.Commands;

/// <summary>
/// <c>pronto sql "QUERY"</c>: runs SQL in DuckDB with Pronto's functions registered (pronto_predict, pronto_label,
/// pronto_embed, ml_predict) over the repository's models. The query comes as an argument, from <c>--file</c>, from
/// piped stdin, or from an interactive prompt when stdin is a terminal. Results print as a table or go to
/// <c>--output</c> (.parquet, .csv, .jsonl) through DuckDB's own COPY.
/// </summary>
internal static class SqlCommand
{
    public static Command Create(CliContext context)
    {
        var query = new Argument<string?>("query") { Description = "The SQL to run (several statements separated by ';' are fine).", Arity = ArgumentArity.ZeroOrOne };
        var file = new Option<string?>("--file", "-f") { Description = "Read the SQL from this file." };
        var output = new Option<string?>("--output", "-o") { Description = "Write the (single) query's result to a .parquet, .csv or .jsonl file instead of printing it." };
        var database = new Option<string?>("--database", "-d") { Description = "A DuckDB database file to work on (created if missing). Default: an in-memory database." };
        var maxRows = new Option<int>("--max-rows") { Description = "Rows to print per result before eliding the rest.", DefaultValueFactory = _ => 1000 };
        var command = new Command("sql", "Run SQL with model predictions inside DuckDB queries (pronto_predict, pronto_label, pronto_embed, ml_predict).")
        {
            query, file, output, database, maxRows,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var args = new SqlArguments(parse.GetValue(query), parse.GetValue(file), parse.GetValue(output), parse.GetValue(database), parse.GetValue(maxRows));
            return await RunAsync(context, parse.GetValue(context.RepositoryOption), args, cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, string? repositoryPath, SqlArguments args, CancellationToken cancellationToken)
    {
        if (args.Query is not null && args.File is not null)
        {
            ProntoErrors.InvalidArgument("give the SQL as an argument or with --file, not both");
        }

        if (args.MaxRows < 0)
        {
            ProntoErrors.InvalidArgument($"--max-rows must be 0 or more, got {args.MaxRows}");
        }

        if (args.Output is not null)
        {
            SqlSession.CheckOutputPath(args.Output);
        }

        var text = args.Query;
        if (args.File is not null)
        {
            text = File.Exists(args.File) ? await File.ReadAllTextAsync(args.File, cancellationToken) : ProntoErrors.InvalidArgument<string>($"SQL file '{args.File}' does not exist");
        }

        var interactive = text is null && !Console.IsInputRedirected;
        if (text is null && !interactive)
        {
            text = await Console.In.ReadToEndAsync(cancellationToken);
            if (string.IsNullOrWhiteSpace(text))
            {
                ProntoErrors.InvalidArgument("give a query, --file FILE, or SQL on stdin");
            }
        }

        using var repository = context.OpenRepository(repositoryPath);
        await repository.LoadAllAsync(cancellationToken);
        using var sql = SqlSession.Open(CliContext.Service(repository), args.Database, new Finetune.CliSqlTrainer());
        var session = new Session(context, sql, args.MaxRows);

        if (interactive)
        {
            return session.Repl(Console.In);
        }

        if (args.Output is not null)
        {
            session.Copy(text!, args.Output);
        }
        else
        {
            session.Run(text!);
        }

        return ExitCodes.Success;
    }

    private sealed class Session(CliContext context, SqlSession sql, int maxRows)
    {
        /// <summary>Runs every statement and prints each result that has columns.</summary>
        public void Run(string statements) => sql.Query(statements, Print);

        /// <summary>Writes one query's result with DuckDB's COPY, which streams it without holding it in memory.</summary>
        public void Copy(string query, string path)
        {
            var rows = sql.Copy(query, path);
            context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {rows} rows to {path}"));
        }

        /// <summary>A prompt: statements end at ';'; errors are printed and the prompt goes on; .quit or end of input leaves.</summary>
        public int Repl(TextReader input)
        {
            context.Output.WriteLine("pronto sql: end statements with ';', .quit to leave. Functions: pronto_predict, pronto_label, pronto_embed, ml_predict.");
            var statement = new StringBuilder();
            while (true)
            {
                context.Output.Write(statement.Length == 0 ? "pronto> " : "   ...> ");
                var line = input.ReadLine();
                if (line is null || (statement.Length == 0 && line.Trim() is ".quit" or ".exit"))
                {
                    return ExitCodes.Success;
                }

                statement.AppendLine(line);
                if (!line.TrimEnd().EndsWith(';'))
                {
                    continue;
                }

                try
                {
                    Run(statement.ToString());
                }
                catch (ProntoException e)
                {
                    context.Error.WriteLine($"error: {e.Message}");
                }

                statement.Clear();
            }
        }

        private void Print(DbDataReader reader)
        {
            var table = new Table();
            for (var i = 0; i < reader.FieldCount; i++)
            {
                table.AddColumn(Markup.Escape(reader.GetName(i)));
            }

            var shown = 0;
            var more = false;
            while (reader.Read())
            {
                if (shown == maxRows)
                {
                    more = true;
                    break;
                }

                var cells = new string[reader.FieldCount];
                for (var i = 0; i < cells.Length; i++)
                {
                    cells[i] = Markup.Escape(reader.IsDBNull(i) ? "NULL" : Format(reader.GetValue(i)));
                }

                table.AddRow(cells);
                shown++;
            }

            context.Console.Write(table);
            context.Output.WriteLine(more
                ? string.Create(CultureInfo.InvariantCulture, $"(first {shown} rows; more not shown: raise --max-rows or write them with --output)")
                : string.Create(CultureInfo.InvariantCulture, $"({shown} row{(shown == 1 ? "" : "s")})"));
        }

        private static string Format(object value) => value switch
        {
            string s => s,
            float f => f.ToString("R", CultureInfo.InvariantCulture),
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture).TrimEnd('.'),
            IDictionary map => "{" + string.Join(", ", map.Keys.Cast<object>().Select(k => $"{k}: {(map[k] is { } v ? Format(v) : "NULL")}")) + "}",
            IEnumerable items => FormatList(items),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };

        /// <summary>Lists and arrays (an embedding has 384 values) show their head and their length.</summary>
        private static string FormatList(IEnumerable items)
        {
            var all = items.Cast<object?>().ToList();
            var head = all.Take(4).Select(v => v is null ? "NULL" : Format(v));
            return all.Count <= 4
                ? "[" + string.Join(", ", head) + "]"
                : string.Create(CultureInfo.InvariantCulture, $"[{string.Join(", ", head)}, ... ({all.Count} values)]");
        }
    }

    private sealed record SqlArguments(string? Query, string? File, string? Output, string? Database, int MaxRows);
}
