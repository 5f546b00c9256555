using System.Collections;
using System.Globalization;
using System.Text;
using Newtonsoft.Json;

namespace Comet4Net.Delivery;

/// <summary>
/// The JSON of a v2 system frame's data (<c>{"type":…, field: value…}</c>) and of an error body, written
/// directly: these are made for every connect, heartbeat and reply, so they skip the serializer (a
/// serializer, its writers and a copied dictionary each time). Strings, numbers, booleans, null and
/// lists of strings are written here; anything else (an application's object) goes through Newtonsoft.
/// </summary>
internal static class SystemJson
{
    internal static string Object(string firstName, string firstValue, IDictionary<string, object?>? fields)
    {
        var sb = FrameText.Rent(64 + (fields?.Count ?? 0) * 24);
        Write(sb, firstName, firstValue, fields);
        return FrameText.ToStringAndReturn(sb);
    }

    /// <summary>Appends <c>{"firstName":firstValue, fields…}</c> to <paramref name="sb"/>.</summary>
    internal static void Write(StringBuilder sb, string firstName, string firstValue, IDictionary<string, object?>? fields)
    {
        sb.Append('{');
        Member(sb, firstName, firstValue);
        if (fields is not null)
        {
            foreach (var (name, value) in fields)
            {
                if (name == firstName) continue;
                sb.Append(',');
                Member(sb, name, value);
            }
        }
        sb.Append('}');
    }

    internal static string Object(string firstName, string firstValue, string secondName, string secondValue, IDictionary<string, object?>? fields)
    {
        var sb = FrameText.Rent(96 + (fields?.Count ?? 0) * 24);
        sb.Append('{');
        Member(sb, firstName, firstValue);
        sb.Append(',');
        Member(sb, secondName, secondValue);
        if (fields is not null)
        {
            foreach (var (name, value) in fields)
            {
                if (name == firstName || name == secondName) continue;
                sb.Append(',');
                Member(sb, name, value);
            }
        }
        return FrameText.ToStringAndReturn(sb.Append('}'));
    }

    private static void Member(StringBuilder sb, string name, object? value)
    {
        String(sb, name);
        sb.Append(':');
        Value(sb, value);
    }

    private static void Value(StringBuilder sb, object? value)
    {
        switch (value)
        {
            case null: sb.Append("null"); break;
            case string s: String(sb, s); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case int i: sb.Append(i); break;
            case long l: sb.Append(l); break;
            case IDictionary<string, object?> nested:
                sb.Append('{');
                var first = true;
                foreach (var (k, v) in nested)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    Member(sb, k, v);
                }
                sb.Append('}');
                break;
            case IEnumerable<string> strings:
                sb.Append('[');
                var firstItem = true;
                foreach (var item in strings)
                {
                    if (!firstItem) sb.Append(',');
                    firstItem = false;
                    String(sb, item);
                }
                sb.Append(']');
                break;
            case double or float or decimal or short or byte or uint or ulong:
                sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture) is { } n && !n.Contains('E') && !n.Contains("Infinity") && n != "NaN" ? n : JsonConvert.SerializeObject(value));
                break;
            default: sb.Append(JsonConvert.SerializeObject(value)); break;
        }
    }

    private static void String(StringBuilder sb, string? s)
    {
        if (s is null) { sb.Append("null"); return; }
        foreach (var c in s)
        {
            if (c < 0x20 || c == '"' || c == '\\' || c is '\u2028' or '\u2029')
            {
                sb.Append(JsonConvert.ToString(s)); // rare: the serializer's escaping
                return;
            }
        }
        sb.Append('"').Append(s).Append('"');
    }
}
