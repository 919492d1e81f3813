using System.Globalization;
using Pronto.LoadGen;

// pronto-loadgen URL BODY_FILE [requests=1000] [concurrency=1] [warmup=100] [label] [json-length]
// json-length > 0: the body is the binary tensor extension (JSON header of that length, then raw tensors).
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Pronto.LoadGen URL BODY_FILE [requests] [concurrency] [warmup] [label] [json-length]");
    return 2;
}

var url = new Uri(args[0]);
var body = await File.ReadAllBytesAsync(args[1]);
var requests = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1000;
var concurrency = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1;
var warmup = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 100;
var label = args.Length > 5 ? args[5] : Path.GetFileNameWithoutExtension(args[1]);
var jsonLength = args.Length > 6 ? int.Parse(args[6], CultureInfo.InvariantCulture) : 0;

using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
if (jsonLength > 0)
{
    client.DefaultRequestHeaders.Add("Inference-Header-Content-Length", jsonLength.ToString(CultureInfo.InvariantCulture));
}

var result = await ClosedLoop.RunAsync(client, url, body, jsonLength > 0 ? "application/octet-stream" : "application/json", requests, concurrency, warmup);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"| {label} | {concurrency} | {result.Requests} | {result.Errors} | {result.Percentile(50):F0} | {result.Percentile(90):F0} | {result.Percentile(99):F0} | {result.LatenciesUs[^1]:F0} | {result.Throughput:F0} |"));
return result.Errors == 0 ? 0 : 1;
