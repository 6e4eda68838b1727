"""Files as users bring them: other encodings, separators, orders, number formats and time columns."""

import re

import numpy as np
import pandas as pd
import pytest

from rnnforecast import config, data
from rnnforecast.errors import UserError


def _load(path, **keys):
    keys.setdefault("targets", ["y"])
    return data.load_series(config.validate({"data": {"path": str(path), **keys}}).data)


def test_semicolon_separator_and_decimal_comma(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("Datum;y\n" + "".join(f"2024-01-{d:02d};{d},5\n" for d in range(1, 21)))
    series = _load(path, decimal=",")
    assert series.frame["y"].iloc[0] == 1.5 and series.frequency == "D"


def test_thousands_separator(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("date,y\n" + "".join(f'2024-01-{d:02d},"1,{d:03d}.5"\n' for d in range(1, 21)))
    assert _load(path, thousands=",").frame["y"].iloc[1] == 1002.5


def test_thousands_without_the_setting_is_a_clear_error(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("date,y\n" + "".join(f'2024-01-{d:02d},"1,{d:03d}"\n' for d in range(1, 21)))
    with pytest.raises(UserError, match="data.thousands"):
        _load(path)


def test_units_in_cells_are_refused_with_the_value_and_line(tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("date,y\n2024-01-01,3 kW\n2024-01-02,4 kW\n")
    with pytest.raises(UserError, match=r"'3 kW' on line 2.*units"):
        _load(path)
    path.write_text("date,y\n2024-01-01,2024-01-01\n2024-01-02,2024-01-02\n")
    with pytest.raises(UserError, match=r"'2024-01-01' on line 2.*reads as a date.*data.time_column"):
        _load(path)
    path.write_text("date,y\n2024-01-01,3.5%\n2024-01-02,4 %\n2024-01-03,5kg\n")  # % is read (below); kg is not
    with pytest.raises(UserError, match=r"'5kg' on line 4.*signs \(kg, °C\), remove them.*is read"):
        _load(path)


def test_utf8_bom_and_latin1_headers(tmp_path):
    rows = "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 21))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbfdate,T (\xc2\xb0C)\n" + rows.encode())
    assert _load(bom, targets=["T (°C)"]).index.name == "date"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("date,T (°C)\n".encode("latin-1") + rows.encode())
    assert _load(latin, targets=["T (°C)"]).frame.shape == (20, 1)


def test_windows_1252_and_a_legacy_byte_after_the_sniffed_start(tmp_path):
    """Excel on Windows writes – € ’ as 0x80-0x9F (cp1252, not Latin-1); a file sorted by name can be plain
    ASCII for its first 64 KiB, where the encoding is sniffed, and hold Zürich after it."""
    rows = "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 21))
    windows = tmp_path / "cp1252.csv"
    windows.write_bytes("date,Temp – °C\n".encode("cp1252") + rows.encode())
    assert _load(windows, targets=["Temp – °C"]).frame.shape == (20, 1)
    days = pd.date_range("2024-01-01", periods=1200, freq="D").strftime("%Y-%m-%d")
    lines = [f"Aachen-{i // 400},{day},{i % 7}" for i, day in enumerate(np.tile(days[:400], 9))]
    lines += [f"Zürich,{day},{i % 5}" for i, day in enumerate(days[:400])]
    late = tmp_path / "stations.csv"
    late.write_bytes(("station,date,y\n" + "\n".join(lines) + "\n").encode("latin-1"))
    assert late.read_bytes().index("Zürich".encode("latin-1")) > 64 * 1024
    panel = data.load_panel(config.validate({"data": {"path": str(late), "targets": ["y"], "id_column": "station"}}).data)
    assert "Zürich" in panel and len(panel["Zürich"].frame) == 400


def test_ids_are_missing_only_when_empty_while_values_keep_their_missing_words(tmp_path):
    """NA is Namibia's code and None a name: as ids they are text; as values they are missing."""
    days = [f"2024-01-{d:02d}" for d in range(1, 21)]
    rows = [f"{key},{day},{'NA' if key == 'ZA' and i == 5 else i}" for key in ("NA", "None", "ZA", "")
            for i, day in enumerate(days)]
    path = tmp_path / "countries.csv"
    path.write_text("country,date,y\n" + "\n".join(rows) + "\n")
    panel = data.load_panel(config.validate({"data": {"path": str(path), "targets": ["y"], "id_column": "country"}}).data)
    assert set(panel) == {"NA", "None", "ZA", ""}
    assert panel["NA"].frame["y"].tolist() == list(range(20))
    assert np.isnan(panel["ZA"].frame["y"].iloc[5]) and panel["ZA"].frame["y"].notna().sum() == 19


@pytest.mark.parametrize("cell", ["(0.80)", "($1,200.50)", "0,8-", "12.5-"])
def test_negatives_written_by_accounts_or_sap_are_named_with_the_way_out(tmp_path, cell):
    path = tmp_path / "a.csv"
    path.write_text("date,y\n2024-01-01,1.5\n2024-01-02,\"" + cell + "\"\n2024-01-03,2.5\n")
    with pytest.raises(UserError, match=r"on line 3.*negative number the way accounts.*leading minus sign \(-0.8\)"):
        _load(path)


@pytest.mark.parametrize("code", ["-999", "9999", "-9999.0"])
def test_a_missing_value_code_read_as_a_number_is_named_with_the_setting_that_drops_it(tmp_path, code):
    values = [f"{10 + (d % 7) * 0.5}" for d in range(60)]
    for row in (5, 6, 40):
        values[row] = code
    path = tmp_path / "logger.csv"
    path.write_text("date,y\n" + "".join(f"{day:%Y-%m-%d},{v}\n" for day, v in
                                         zip(pd.date_range("2024-01-01", periods=60), values)))
    series = _load(path)
    shown = f"{float(code):g}"
    assert [n for n in series.notes if f"holds {shown} in 3 cell(s) (line 7, 8, 42)" in n
            and f"data.missing_values: [{shown}]" in n]
    cleaned = _load(path, missing_values=[float(code)])
    assert not [n for n in cleaned.notes if "missing-value code" in n] and cleaned.frame["y"].isna().sum() == 3
    # a value of nines inside the series' own range is a value
    inside = tmp_path / "inside.csv"
    inside.write_text("date,y\n" + "".join(f"{day:%Y-%m-%d},{9990 + d % 13}\n"
                                           for d, day in enumerate(pd.date_range("2024-01-01", periods=60))))
    assert not [n for n in _load(inside).notes if "missing-value code" in n]
    # a negative code in a column that is never negative, however wide its spread (airline passengers, 104 to 622)
    counts = tmp_path / "counts.csv"
    counts.write_text("date,y\n" + "".join(f"{day:%Y-%m-%d},{-999 if d in (3, 9) else 104 + (d * 37) % 519}\n"
                                           for d, day in enumerate(pd.date_range("2024-01-01", periods=60))))
    assert [n for n in _load(counts).notes if "holds -999 in 2 cell(s) (line 5, 11)" in n]


def test_a_panels_missing_value_code_is_named_once_for_the_file(tmp_path):
    days = pd.date_range("2024-01-01", periods=60)
    frame = pd.concat([pd.DataFrame({"id": key, "date": days, "y": 10 + np.arange(60) % 7 * level})
                       for key, level in (("a", 0.5), ("b", 1.0))], ignore_index=True)
    frame.loc[[70, 71], "y"] = -999  # two readings of b's logger
    frame.to_csv(tmp_path / "p.csv", index=False)
    cfg = config.validate({"data": {"path": str(tmp_path / "p.csv"), "targets": ["y"], "id_column": "id"}}).data
    notes = [n for series in data.load_panel(cfg).values() for n in series.notes if "missing-value code" in n]
    assert notes == [notes[0]] and "holds -999 in 2 cell(s) (line 72, 73)" in notes[0]
    assert "data.missing_values: [-999]" in notes[0]
    cfg = cfg.model_copy(update={"missing_values": ["n.d.", "-999"]})
    assert not [n for series in data.load_panel(cfg).values() for n in series.notes if "missing-value code" in n]


@pytest.mark.parametrize("cell, says", [("y", "repeats the header"), ("#VALUE!", "spreadsheet's error value"),
                                        ("#DIV/0!", "formula that failed")])
def test_a_repeated_header_or_a_spreadsheet_error_is_named_as_such(tmp_path, cell, says):
    path = tmp_path / "joined.csv"
    path.write_text("date,y\n2024-01-01,1.5\n2024-01-02,2.5\ndate," + cell + "\n2024-01-03,2.5\n")
    with pytest.raises(UserError, match=rf"{re.escape(repr(cell))} on line 4.*{re.escape(says)}"):
        _load(path)


def test_midnight_written_as_24_00_of_the_day_before_is_the_next_days_00_00(tmp_path):
    """ISO 8601's end of day, as loggers write it: refused as 'not a date' before."""
    hours = pd.date_range("2024-01-01 01:00", periods=72, freq="h")
    written = [f"{h - pd.Timedelta(days=1):%Y-%m-%d} 24:00" if h.hour == 0 else f"{h:%Y-%m-%d %H:%M}" for h in hours]
    path = tmp_path / "h.csv"
    path.write_text("time,y\n" + "".join(f"{w},{i}\n" for i, w in enumerate(written)))
    series = _load(path)
    assert series.frequency == "h" and list(series.index) == list(hours)
    assert series.frame["y"].loc["2024-01-02 00:00"] == 23  # the row written 2024-01-01 24:00
    assert any("writes midnight as 24:00 of the day before ('2024-01-01 24:00' on line 25)" in note for note in series.notes)
    path.write_text("time,y\n2024-01-01 23:00,1\n2024-01-01 25:00,2\n")  # no hour 25: still refused, named
    with pytest.raises(UserError, match="not a date: '2024-01-01 25:00' on line 3"):
        _load(path, time_column="time")


def test_dots_between_thousands_in_a_semicolon_file_are_asked_about_not_read_as_decimals(tmp_path):
    """German Excel writes 1383 as 1.383: read as a decimal, the series fell from 954 to 1.0 without a word."""
    values = [336, 408, 954, 1092, 1383, 1644, 870]
    written = [f"{v:,.0f}".replace(",", ".") for v in values]
    path = tmp_path / "de.csv"
    path.write_text("Monat;Passagiere\n" + "".join(f"2020-{m:02d};{w}\n" for m, w in enumerate(written, 1)))
    with pytest.raises(UserError, match=r"'1\.092' beside '336'.*1092 \(a dot between thousands.*data.thousands: '\.' "
                                         r"with data.decimal: ','.*data.decimal: '\.'"):
        _load(path, targets=["Passagiere"])
    read = _load(path, targets=["Passagiere"], thousands=".", decimal=",")
    assert read.frame["Passagiere"].tolist() == values
    assert _load(path, targets=["Passagiere"], decimal=".").frame["Passagiere"].iloc[3] == 1.092  # as the user says
    path.write_text("Monat;x\n" + "".join(f"2020-{m:02d};{v}\n" for m, v in enumerate(["1.25", "2.375", "3"], 1)))
    assert _load(path, targets=["x"]).frame["x"].iloc[1] == 2.375  # 1.25 is no thousands' grouping: decimals


@pytest.mark.parametrize("written", ["%d/%m/%y", "%d.%m.%y", "%d-%m-%y", "%d/%m/%y %H:%M"])
def test_day_first_dates_with_two_digit_years_are_read_day_first_throughout(tmp_path, written):
    """pandas guesses no format for 01/06/99 and read each cell alone: days 1 to 12 month first, the rest day first,
    so a year of days became 700 rows, a third of them made up, without a word."""
    days = pd.date_range("1999-06-01", "2000-06-01", freq="D")
    path = tmp_path / "d.csv"
    path.write_text("date,y\n" + "".join(f"{d.strftime(written)},{i}\n" for i, d in enumerate(days)))
    series = _load(path)
    assert list(series.index) == list(days) and series.frame["y"].tolist() == list(range(len(days)))


def test_two_digit_years_read_a_century_apart_are_refused(tmp_path):
    """1/1/55 ... 12/1/82 once read 1955 as 2055: the notes then called 72% of the series made up."""
    months = pd.date_range("1955-01-01", "1982-12-01", freq="MS")
    path = tmp_path / "sun.csv"
    path.write_text("Month,y\n" + "".join(f"{m.month}/1/{m:%y},{i}\n" for i, m in enumerate(months)))
    with pytest.raises(UserError, match=r"years with two digits: '1/1/55' on line 2 reads as 2055-01-01.*"
                                         r"as 19\d\d-01-01.*Write four-digit years"):
        _load(path)
    recent = tmp_path / "recent.csv"  # two-digit years all in one century read as they always did
    recent.write_text("Month,y\n" + "".join(f"{m.month}/1/{m:%y},{i}\n" for i, m in
                                             enumerate(pd.date_range("2001-01-01", periods=40, freq="MS"))))
    assert _load(recent).index[0] == pd.Timestamp("2001-01-01")
    airline = tmp_path / "airline.csv"  # Jan-49 ... Dec-60 read as 2049 ... 2060 and forecast in 2061, in silence
    airline.write_text("Month,y\n" + "".join(f"{m:%b-%y},{i}\n" for i, m in
                                              enumerate(pd.date_range("1949-01-01", "1960-12-01", freq="MS"))))
    with pytest.raises(UserError, match=r"'Jan-49' on line 2 reads as 2049-01-01, and every row lies in the future"):
        _load(airline)


def test_real_weather_slice_reads_its_header_and_merges_the_duplicate(data_dir):
    series = _load(data_dir / "weather-slice.csv", targets=["OT"], features=["T (degC)"])
    assert series.frequency == "10min"
    assert any("1 duplicated timestamp" in note for note in series.notes)
    assert any("9 missing time step" in note for note in series.notes)
    assert series.index.is_unique and series.index.is_monotonic_increasing


def test_newest_first_is_sorted(tmp_path):
    path = tmp_path / "rev.csv"
    path.write_text("date,y\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in range(20, 0, -1)))
    assert _load(path).frame["y"].tolist() == list(range(1, 21))


def test_duplicate_policies(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("date,y\n2024-01-01,1\n2024-01-02,2\n2024-01-02,4\n2024-01-03,5\n2024-01-04,6\n")
    assert _load(path, duplicates="mean").frame["y"].tolist() == [1, 3, 5, 6]
    assert _load(path, duplicates="first").frame["y"].tolist() == [1, 2, 5, 6]
    assert _load(path, duplicates="last").frame["y"].tolist() == [1, 4, 5, 6]
    with pytest.raises(UserError, match="duplicated timestamp.*2024-01-02"):
        _load(path, duplicates="error")


def test_time_zone_stays_aware_in_future_timestamps(tmp_path):
    path = tmp_path / "tz.csv"
    path.write_text("time,y\n" + "".join(f"2024-03-01T{h:02d}:00:00+01:00,{h}\n" for h in range(24)))
    series = _load(path)
    assert str(series.index.tz) in ("UTC+01:00", "+01:00")
    future = data.future_index(series.index, series.frequency, 2)
    assert future[0].isoformat() == "2024-03-02T00:00:00+01:00"


@pytest.mark.parametrize("lines", [
    # daylight saving: the offset changes from +01:00 to +02:00
    [f"2024-03-31T0{h}:00:00+01:00,{h}" for h in range(2)] + [f"2024-03-31T0{h}:00:00+02:00,{h}" for h in range(3, 9)],
    # naive times and offset-carrying ones mixed (pandas 2 returns objects there rather than raising)
    [f"2024-03-01T{h:02d}:00:00,{h}" for h in range(6)] + [f"2024-03-01T{h:02d}:00:00+00:00,{h}" for h in range(6, 12)],
], ids=["changing offsets", "naive and offset mixed"])
def test_times_with_different_offsets_are_kept_as_utc(tmp_path, lines):
    path = tmp_path / "offsets.csv"
    path.write_text("time,y\n" + "\n".join(lines) + "\n")
    series = _load(path)
    assert str(series.index.tz) == "UTC" and series.frequency == "h" and len(series.frame) == len(lines)


def test_daily_rows_with_changing_offsets_are_local_dates_not_utc(tmp_path):
    """Midnight local time at +01:00, then +02:00: in UTC half the rows fell off the daily grid and were dropped."""
    days = pd.date_range("2024-03-01", periods=60, freq="D")
    lines = [f"{d:%Y-%m-%d}T00:00:00{'+01:00' if d < pd.Timestamp('2024-03-31') else '+02:00'},{i}" for i, d in enumerate(days)]
    path = tmp_path / "daily.csv"
    path.write_text("date,y\n" + "\n".join(lines) + "\n")
    series = _load(path)
    assert series.frequency == "D" and series.index.tz is None
    assert list(series.index) == list(days) and series.frame["y"].tolist() == list(range(60))
    assert any("read as local dates" in note for note in series.notes)


def test_rows_between_the_steps_of_a_given_frequency_are_averaged_into_them(tmp_path):
    """Readings at any time of day with data.frequency D: each day is their mean (they were all dropped but one)."""
    times = ["2024-01-01 09:13", "2024-01-01 17:40", "2024-01-02 08:05", "2024-01-04 12:00", "2024-01-04 13:00"]
    path = tmp_path / "readings.csv"
    path.write_text("time,y\n" + "".join(f"{t},{v}\n" for t, v in zip(times, [1, 3, 5, 7, 9])))
    series = _load(path, frequency="D")
    assert list(series.index) == list(pd.date_range("2024-01-01", periods=4, freq="D"))
    assert series.frame["y"].fillna(-1).tolist() == [2, 5, -1, 8]  # Jan 3 had no reading: filled later (data.missing)
    assert any("each step is the mean of the rows in it" in n for n in series.notes)
    assert any("1 missing time step(s)" in n for n in series.notes)
    gaps = [n for n in series.notes if "longest gap" in n]  # the empty Jan 3 (a quarter of 4 steps), not every step
    assert len(gaps) == 1 and "from 2024-01-03 to 2024-01-03" in gaps[0], gaps
    days = pd.date_range("2024-01-01", periods=14, freq="D")  # business days asked of daily rows: weekends dropped
    path.write_text("time,y\n" + "".join(f"{d:%Y-%m-%d},{i}\n" for i, d in enumerate(days)))
    series = _load(path, frequency="B")
    assert series.frame["y"].tolist() == [0, 1, 2, 3, 4, 7, 8, 9, 10, 11]
    assert any("4 row(s) off the B grid" in n for n in series.notes)


def test_many_rows_off_a_runs_grid_are_refused_not_dropped(tmp_path):
    """Read for a run whose grid is hourly (`frequency`), rows at half past: refused, not dropped by the thousand."""
    times = list(pd.date_range("2024-01-01", periods=200, freq="h")) + list(
        pd.date_range("2024-01-09 08:30", periods=40, freq="h"))
    path = tmp_path / "shifted.csv"
    path.write_text("time,y\n" + "".join(f"{t},{i}\n" for i, t in enumerate(times)))
    cfg = config.validate({"data": {"path": str(path), "targets": ["y"]}}).data
    with pytest.raises(UserError, match=r"40 of the 240 rows .* fall between the steps of the h grid.*data.frequency"):
        data.load_series(cfg, frequency="h")
    few = times[:200] + times[200:203]  # 3 stray rows: dropped with a note; the 3 steps they spanned are added
    path.write_text("time,y\n" + "".join(f"{t},{i}\n" for i, t in enumerate(few)))
    series = data.load_series(cfg, frequency="h")
    assert len(series.frame) == 203 and series.frame["y"].isna().sum() == 3
    assert any("3 row(s) off the h grid" in n for n in series.notes)
    assert any("3 missing time step(s)" in n for n in series.notes)  # was not said: the dropped rows hid them


def test_monthly_readings_on_any_day_are_the_months_means_with_data_frequency_ms(tmp_path):
    """Readings on the 10th to 19th: every row was off the MS grid and dropped; now each month is its reading."""
    days = [10, 19, 12, 15, 11, 18, 13, 14, 16, 17, 10, 19]
    path = tmp_path / "meter.csv"
    path.write_text("date,y\n" + "".join(f"2023-{m + 1:02d}-{d},{m}\n" for m, d in enumerate(days)))
    series = _load(path, frequency="MS")
    assert list(series.index) == list(pd.date_range("2023-01-01", periods=12, freq="MS"))
    assert series.frame["y"].tolist() == list(range(12))


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_true_false_flag_columns_read_as_one_and_zero(tmp_path, kind):
    """A Parquet boolean column was an internal error; TRUE/false text was refused as 'not a number'."""
    days = pd.date_range("2024-01-01", periods=30, freq="D")
    flags = [i % 7 == 0 for i in range(30)]
    if kind == "parquet":
        path = tmp_path / "flags.parquet"
        pd.DataFrame({"date": days, "y": np.arange(30.0), "holiday": flags}).to_parquet(path)
    else:
        path = tmp_path / "flags.csv"
        cells = ["TRUE" if f else "false" for f in flags]
        cells[3] = ""  # an empty cell stays missing
        pd.DataFrame({"date": days, "y": np.arange(30.0), "holiday": cells}).to_csv(path, index=False)
    holiday = _load(path, features=["holiday"]).frame["holiday"]
    expected = [1.0 if f else 0.0 for f in flags]
    if kind == "csv":
        assert np.isnan(holiday.iloc[3])
        expected[3] = -1.0
    assert holiday.fillna(-1.0).tolist() == expected


def test_a_gap_that_is_a_large_part_of_the_series_is_named(tmp_path):
    """Two years of readings, a sensor off for three, half a year after: the filled gap is what the network sees."""
    days = pd.date_range("2020-01-01", periods=730, freq="D").append(pd.date_range("2025-01-01", periods=180, freq="D"))
    path = tmp_path / "sensor.csv"
    path.write_text("date,y\n" + "".join(f"{d:%Y-%m-%d},{i % 7}\n" for i, d in enumerate(days)))
    notes = _load(path).notes
    assert any("longest gap" in n and "from 2021-12-31 to 2024-12-31" in n and "rows before 2025-01-01" in n
               for n in notes), notes
    assert not any("longest gap" in n for n in _load(path, missing="drop").notes)
    short = days[:100].append(days[101:730])  # one missing day: the usual note only
    path.write_text("date,y\n" + "".join(f"{d:%Y-%m-%d},{i % 7}\n" for i, d in enumerate(short)))
    assert not any("longest gap" in n for n in _load(path).notes)


def test_daily_rows_that_move_to_noon_are_not_read_on_a_half_day_grid(tmp_path):
    """Midnight, then noon (a logger restarted): the steps' common divisor is 12 hours, and that grid was read
    with half its steps interpolated and the horizon's steps halved. Refused; data.frequency D averages the days."""
    times = list(pd.date_range("2024-01-01", periods=100, freq="D")) + list(
        pd.date_range("2024-04-10 12:00", periods=60, freq="D"))
    path = tmp_path / "logger.csv"
    path.write_text("time,y\n" + "".join(f"{t},{i}\n" for i, t in enumerate(times)))
    with pytest.raises(UserError, match=r"mostly 1 day apart.*2024-04-10 12:00.*grid of 12 hours.*data.frequency.*: D "):
        _load(path)
    series = _load(path, frequency="D")
    assert len(series.frame) == 160 and series.frame["y"].notna().all()


@pytest.mark.parametrize(("cell", "said"), [("not a date", "a cell that is not a date: 'not a date'"),
                                            ("", "an empty cell")])
def test_a_stray_cell_in_a_time_named_column_is_reported_not_ignored(tmp_path, cell, said):
    """Without data.time_column: the 'date' column is still the time, and its bad cell is named by line."""
    path = tmp_path / "stray.csv"
    rows = [f"2024-01-{d:02d},{d}" for d in range(1, 29)]
    rows[9] = f"{cell},10"
    path.write_text("date,y\n" + "\n".join(rows) + "\n")
    with pytest.raises(UserError, match=f"has {said} on line 11"):
        _load(path)


def test_a_file_of_one_timed_row_is_too_short(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("date,y\n2024-01-01,5\n")
    with pytest.raises(UserError, match=r"has 1 row with a time: too few"):
        _load(path)


def test_date_assembled_from_year_month_day_hour_columns(data_dir):
    series = _load(data_dir / "pollution-head3000.csv", targets=["pm2.5"], time_column=["year", "month", "day", "hour"])
    assert series.index[0] == pd.Timestamp("2010-01-01 00:00") and series.frequency == "h"
    assert series.frame["pm2.5"].isna().sum() > 0  # the NA cells stay missing until the fill policy


def test_year_month_day_hour_columns_are_found_without_the_setting(data_dir, tmp_path):
    """The Beijing file as published: `year` alone would repeat each timestamp 8,760 times."""
    series = _load(data_dir / "pollution-head3000.csv", targets=["pm2.5"])
    assert series.index[1] == pd.Timestamp("2010-01-01 01:00") and series.frequency == "h"
    assert any("assembled from its columns year, month, day, hour" in note for note in series.notes)
    path = tmp_path / "monthly.csv"  # year and month only: the first of each month
    path.write_text("Year,Month,y\n" + "".join(f"{2000 + m // 12},{m % 12 + 1},{m}\n" for m in range(30)))
    series = _load(path)
    assert series.index[13] == pd.Timestamp("2001-02-01") and series.frequency.startswith("M")
    assert _load(path, time_column=["Year", "Month"]).index[13] == pd.Timestamp("2001-02-01")
    path.write_text("month,day,y\n" + "".join(f"1,{d},{d}\n" for d in range(1, 29)))  # no year: refused, not a crash
    with pytest.raises(UserError, match="year and month at least"):
        _load(path, time_column=["month", "day"])


def test_a_date_column_with_an_hour_column_beside_it(tmp_path):
    """`Date,Hour,Load` with hours 1 to 24 (hour ending, as grid operators publish): one hourly series."""
    path = tmp_path / "load.csv"
    days = pd.date_range("2022-01-01", periods=3).strftime("%m/%d/%Y")
    path.write_text("Date,Hour,Load\n" + "".join(f"{d},{h},{10 * i + h}\n" for i, d in enumerate(days) for h in range(1, 25)))
    series = _load(path, targets=["Load"])
    assert series.frequency == "h" and len(series.index) == 72
    assert series.index[0] == pd.Timestamp("2022-01-01 01:00") and series.index[-1] == pd.Timestamp("2022-01-04 00:00")


def test_date_and_time_columns_are_joined_and_a_missing_cell_is_named(tmp_path):
    path = tmp_path / "split.csv"
    path.write_text("date,time,y\n" + "".join(f"2024-01-01,{h:02d}:00,{h}\n" for h in range(12)))
    series = _load(path, time_column=["date", "time"])
    assert series.index[3] == pd.Timestamp("2024-01-01 03:00") and series.frequency == "h"
    path.write_text(path.read_text().replace("2024-01-01,05:00", "2024-01-01,"))
    with pytest.raises(UserError, match=r"time column date, time .* on line 7"):
        _load(path, time_column=["date", "time"])


def test_categorical_column_is_one_hot_encoded(data_dir):
    series = _load(data_dir / "pollution-head3000.csv", targets=["pm2.5"], categorical=["cbwd"],
                   time_column=["year", "month", "day", "hour"])
    onehot = [c for c in series.features if c.startswith("cbwd=")]
    assert onehot == ["cbwd=NE", "cbwd=NW", "cbwd=SE", "cbwd=cv"]
    assert (series.frame[onehot].sum(axis=1) == 1).all()


def test_categorical_values_asked_for_as_numbers_are_refused_with_a_hint(data_dir):
    with pytest.raises(UserError, match=r"'NW' on line 2.*data.categorical"):
        _load(data_dir / "pollution-head3000.csv", targets=["pm2.5"], features=["cbwd"])


def test_numeric_column_names_from_yaml(data_dir):
    cfg = config.validate({"data": {"path": str(data_dir / "exchange_rate-head1500.csv"), "targets": [0, 7]}})
    series = data.load_series(cfg.data)
    assert series.targets == ["0", "7"] and series.frequency is None


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UserError, match="is empty"):
        _load(empty)
    header = tmp_path / "header.csv"
    header.write_text("date,y\n")
    with pytest.raises(UserError, match="no rows"):
        _load(header)


def test_rows_with_every_cell_empty_are_skipped_and_later_lines_keep_their_numbers(tmp_path):
    """A spreadsheet export ends in `,` rows: no data there, so not a bad date; a bad cell after them is still found."""
    path = tmp_path / "export.csv"
    rows = [f"2024-01-{d:02d},{d}\n" for d in range(1, 21)]
    path.write_text("date,y\n" + "".join(rows) + ",\n , \n")
    series = _load(path)
    assert len(series.frame) == 20 and series.frame.index[-1] == pd.Timestamp("2024-01-20")
    rows[3] = "2024-01-04,x\n"
    path.write_text("date,y\n" + "".join(rows[:3]) + ",\n" + "".join(rows[3:]))
    with pytest.raises(UserError, match="'x' on line 6"):
        _load(path)
    path.write_text("date,y\n,\n,\n")
    with pytest.raises(UserError, match="no rows"):
        _load(path)


def test_rows_after_the_last_target_value_are_left_out_with_a_note(tmp_path):
    """Dates typed ahead with empty targets are not yet observed: forecasting from filled-in values would be wrong."""
    path = tmp_path / "ahead.csv"
    path.write_text("date,y\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 21))
                    + "".join(f"2024-01-{d:02d},\n" for d in range(22, 26)))  # 21 is not in the file at all
    series = _load(path)
    assert series.frame.index[-1] == pd.Timestamp("2024-01-20") and series.frame["y"].iloc[-1] == 20
    assert any("last 4 row(s)" in note and "2024-01-20" in note for note in series.notes)
    assert not any("missing time step" in note for note in series.notes)
    filled = _load(path, missing="ffill")  # asked to carry values forward: the steps are kept
    assert filled.frame.index[-1] == pd.Timestamp("2024-01-25") and not any("no target value" in n for n in filled.notes)
    path.write_text("y\n" + "".join(f"{d}\n" for d in range(1, 21)) + "\n".join(["", "", " "]) + "\n")
    assert len(_load(path).frame) == 20
    panel = tmp_path / "panel.csv"
    panel.write_text("date,y,id\n" + "".join(f"2024-01-{d:02d},{d if key == 'A' or d <= 17 else ''},{key}\n"
                                             for key in "AB" for d in range(1, 21)))
    read = data.load_panel(config.validate({"data": {"path": str(panel), "targets": ["y"], "id_column": "id"}}).data)
    assert len(read["A"].frame) == 20 and len(read["B"].frame) == 17 and "last 3 row(s)" in read["B"].notes[0]


def test_a_panel_series_without_an_id_is_named_as_such_in_messages(tmp_path):
    path = tmp_path / "panel.csv"
    lines = [f"2024-01-{d:02d},{d},A" for d in range(1, 21)] + [f"2024-01-{d:02d},," for d in range(1, 21)]
    path.write_text("date,y,store\n" + "\n".join(lines) + "\n")
    cfg = config.validate({"data": {"path": str(path), "targets": ["y"], "id_column": "store"}}).data
    with pytest.raises(UserError, match=r"panel.csv \(the rows with an empty store\) has no numbers"):
        data.load_panel(cfg)


def test_all_empty_column_is_refused(tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text("date,y,z\n" + "".join(f"2024-01-{d:02d},{d},\n" for d in range(1, 21)))
    with pytest.raises(UserError, match="'z'.*no numbers"):
        _load(path, features=["z"])


def test_infinite_value_is_refused(tmp_path):
    path = tmp_path / "inf.csv"
    path.write_text("date,y\n2024-01-01,1\n2024-01-02,inf\n")
    with pytest.raises(UserError, match="infinite.*line 3"):
        _load(path)


def test_irregular_times_ask_for_a_frequency(tmp_path):
    path = tmp_path / "irregular.csv"
    rng = np.random.default_rng(0)
    minutes = np.cumsum(rng.integers(1, 9, size=40)) * 1440 + rng.integers(0, 1440, size=40)
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(minutes, unit="min")
    pd.DataFrame({"date": dates, "y": np.arange(40)}).to_csv(path, index=False)
    with pytest.raises(UserError, match="data.frequency"):
        _load(path)


@pytest.mark.parametrize("name", ["year", "Fiscal Year", "date"])
def test_whole_years_under_a_year_name_are_the_time_column(tmp_path, name):
    path = tmp_path / "annual.csv"
    pd.DataFrame({name: np.arange(1950, 2000), "y": np.arange(50.0)}).to_csv(path, index=False)
    series = _load(path)
    assert series.index[0] == pd.Timestamp("1950-01-01") and series.index[-1] == pd.Timestamp("1999-01-01")
    assert series.frequency.startswith("Y") and "y" in series.frame


def test_numbers_under_a_time_name_that_are_not_years_stay_steps(tmp_path):
    path = tmp_path / "lab.csv"  # seconds elapsed, 1000 to 1049: a value range of years, but the name is no year's
    pd.DataFrame({"time": np.arange(1000, 1050), "y": np.arange(50.0)}).to_csv(path, index=False)
    series = _load(path)
    assert isinstance(series.index, pd.RangeIndex) and any("no time column" in note for note in series.notes)


@pytest.mark.parametrize("unit, scale", [("s", 1), ("ms", 1000)])
def test_unix_time_is_read_as_utc_times_with_a_note(tmp_path, unit, scale):
    hours = pd.date_range("2024-03-01", periods=48, freq="h")
    seconds = (hours - pd.Timestamp("1970-01-01")) // pd.Timedelta("1s") * scale
    path = tmp_path / "sensor.csv"
    pd.DataFrame({"ts": seconds, "y": np.arange(48.0)}).to_csv(path, index=False)
    series = _load(path)
    assert list(series.index) == list(hours) and series.frequency == "h"
    assert any("Unix time" in note for note in series.notes)


@pytest.mark.parametrize("dash", ["-", ""])
def test_iso_weeks_are_read_as_their_mondays(tmp_path, dash):
    mondays = pd.date_range("2019-12-30", periods=60, freq="W-MON")  # 2020-W01 starts on 2019-12-30
    path = tmp_path / "weekly.csv"
    weeks = [f"{d.isocalendar().year}{dash}W{d.isocalendar().week:02d}" for d in mondays]
    pd.DataFrame({"week": weeks, "y": np.arange(60.0)}).to_csv(path, index=False)
    series = _load(path)
    assert list(series.index) == list(mondays) and series.frequency.startswith("W")


def test_a_panel_series_at_another_frequency_is_refused_not_interpolated(tmp_path):
    rows = [("a", d, 1.0) for d in pd.date_range("2021-01-01", periods=120, freq="D")]
    rows += [("b", d, 2.0) for d in pd.date_range("2021-01-01", periods=60, freq="W")]
    rows += [("c", d, 3.0) for d in pd.date_range("2021-01-01", periods=120, freq="D").delete(range(5, 40))]  # gaps
    path = tmp_path / "stores.csv"
    pd.DataFrame(rows, columns=["store", "date", "y"]).to_csv(path, index=False)
    cfg = config.validate({"data": {"path": str(path), "targets": ["y"], "id_column": "store"}}).data
    with pytest.raises(UserError, match=r"store=b.*W-SUN.*steps of D.*made up"):
        data.load_panel(cfg)
    rows = [row for row in rows if row[0] != "b"]
    pd.DataFrame(rows, columns=["store", "date", "y"]).to_csv(path, index=False)
    panel = data.load_panel(cfg)  # a daily series with a gap is filled, as before
    assert len(panel["c"].frame) == 120 and any("35 missing" in note for note in panel["c"].notes)


def test_column_typo_suggests_the_closest(data_dir):
    with pytest.raises(UserError, match="Did you mean 'Passengers'"):
        _load(data_dir / "airline-passengers.csv", targets=["Pasengers"])
    with pytest.raises(UserError, match=r"To name 2 columns, write a list: \[Passengers, Month\]"):
        _load(data_dir / "airline-passengers.csv", targets=["Passengers,Month"])  # `--set data.targets=Passengers,Month`


@pytest.mark.parametrize("first", ["01.02.2014", "31.12.2013"])
def test_day_first_dates_are_read_day_first_throughout(tmp_path, first):
    days = pd.date_range("2014-02-01", periods=60, freq="D")
    if first == "31.12.2013":
        days = pd.date_range("2013-12-31", periods=60, freq="D")
    path = tmp_path / "de.csv"
    path.write_text("Datum;y\n" + "".join(f"{d.strftime('%d.%m.%Y')};{i}\n" for i, d in enumerate(days)))
    series = _load(path)
    assert series.index[0] == days[0] and series.frequency == "D"
    assert series.frame["y"].tolist() == list(range(60))  # no day swapped with its month


@pytest.mark.parametrize(("written", "freq", "swapped"), [
    ("%d/%m/%Y", "MS", True),  # monthly, day first (Excel in most of Europe): month first it is days 1 to 12
    ("%m/%d/%Y", "MS", False),  # monthly, month first (the US): read as it is
    ("%d.%m.%Y", "MS", True),
])
def test_monthly_dates_that_read_either_way_are_read_the_way_that_makes_a_series(tmp_path, written, freq, swapped):
    months = pd.date_range("2012-01-01", periods=96, freq="MS")
    path = tmp_path / "m.csv"
    pd.DataFrame({"date": months.strftime(written), "y": np.arange(96.0)}).to_csv(path, index=False)
    series = _load(path)
    assert series.frequency == freq and len(series.frame) == 96 and (series.index == months).all()
    assert series.frame["y"].tolist() == list(range(96))
    said = [note for note in series.notes if "read either day first or month first" in note]
    assert bool(said) == swapped
    if swapped:
        assert "on line 3 is 1 February 2012" in said[0]


def test_a_date_index_saved_by_pandas_without_a_name_is_the_time_column_named_time(tmp_path):
    """`frame.to_csv()` of a date index writes an empty header cell: the forecast's column must not be 'nan'."""
    days = pd.date_range("2024-01-01", periods=30, freq="D")
    pd.DataFrame({"y": np.arange(30.0)}, index=days).to_csv(tmp_path / "i.csv")
    assert (tmp_path / "i.csv").read_text().startswith(",y\n")
    series = _load(tmp_path / "i.csv")
    assert series.index.name == "time" and series.frequency == "D" and list(series.frame.columns) == ["y"]


def test_a_title_above_the_header_is_named_with_the_way_to_skip_it(tmp_path):
    rows = "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 21))
    (tmp_path / "t.csv").write_text("Sales report\nExported 2024-02-01\n\ndate,y\n" + rows)
    with pytest.raises(UserError, match=r"has 3 line\(s\) above its header \(line 4: 'date,y'\).*start each with #"):
        _load(tmp_path / "t.csv")
    for title in ("Sales report\n\n", "Sales report\n"):  # read as a header of one column: "more cells" was said
        (tmp_path / "t.csv").write_text(title + "date,y\n" + rows)
        lines = title.count("\n")
        with pytest.raises(UserError, match=rf"has {lines} line\(s\) above its header \(line {lines + 1}: 'date,y'\)"):
            _load(tmp_path / "t.csv")
    (tmp_path / "c.csv").write_text("# Sales report\n# Exported 2024-02-01\ndate,y\n" + rows)  # as the message says
    assert len(_load(tmp_path / "c.csv").frame) == 20


def test_rows_longer_than_the_header_are_read_when_the_extra_cells_are_empty(tmp_path):
    """`2020-01-01,1,` under `date,y` (a separator ending every row): pandas took the dates for an index (a crash)."""
    days = [f"2024-01-{d:02d}" for d in range(1, 21)]
    for ending in (",", ",,"):
        (tmp_path / "t.csv").write_text("date,y\n" + "".join(f"{day},{i}{ending}\n" for i, day in enumerate(days)))
        series = _load(tmp_path / "t.csv")
        assert series.frame["y"].tolist() == list(range(20)) and series.frequency == "D"
    (tmp_path / "v.csv").write_text("date,y\n" + "".join(f"{day},{i},{i * 2}\n" for i, day in enumerate(days)))
    with pytest.raises(UserError, match=r"more cells than its header has names \(line 2: '2024-01-01,0,0'"):
        _load(tmp_path / "v.csv")  # a value past the header would be lost: refused
    # the same past the first row: pandas raised ("Expected 2 fields in line 5, saw 3"), its words were the message
    lines = [f"{day},{i}" for i, day in enumerate(days)]
    for name, row, compress in (("w.csv", f"{days[3]},3,", None), ("x.csv.gz", f"{days[3]},3,7", "gzip")):
        text = "date,y\n" + "\n".join(lines[:3] + [row] + lines[4:]) + "\n"
        if compress:
            import gzip

            (tmp_path / name).write_bytes(gzip.compress(text.encode()))
        else:
            (tmp_path / name).write_text(text)
        if row.endswith(","):
            assert _load(tmp_path / name).frame["y"].tolist() == list(range(20))
        else:
            with pytest.raises(UserError, match=r"more cells than its header has names \(line 5: '2024-01-04,3,7'"):
                _load(tmp_path / name)


def test_dates_regular_both_ways_keep_the_month_first_reading(tmp_path):
    """01/01 to 12/01: daily in January day first, monthly in 2020 month first: pandas' reading stands."""
    path = tmp_path / "d.csv"
    pd.DataFrame({"date": [f"{m:02d}/01/2020" for m in range(1, 13)], "y": np.arange(12.0)}).to_csv(path, index=False)
    series = _load(path)
    assert series.frequency == "MS" and not any("day first" in note for note in series.notes)


def test_a_folder_of_parquet_files_is_one_panel_and_only_the_used_columns_are_read(tmp_path):
    times = pd.date_range("2024-01-01", periods=50, freq="h")
    table = pd.DataFrame({"store": np.repeat(["a", "b"], 50), "time": np.tile(times, 2),
                          "sales": np.arange(100, dtype="float64"), "notes": "unused text"})
    table.to_parquet(tmp_path / "sales", partition_cols=["store"])  # store=a/..., store=b/...
    cfg = config.validate({"data": {"path": str(tmp_path / "sales"), "id_column": "store", "time_column": "time",
                                    "targets": ["sales"]}, "window": {"horizon": 4}})
    panel = data.load_panel(cfg.data)
    assert sorted(panel) == ["a", "b"]
    np.testing.assert_array_equal(panel["b"].frame["sales"].to_numpy(), np.arange(50, 100))
    read = data.io.read_table(tmp_path / "sales", data.series.used_columns(cfg.data))
    assert sorted(read.columns) == ["sales", "store", "time"]  # 'notes' never loaded
    everything = data.io.read_table(tmp_path / "sales", ["time", "sales", "price"])  # a column it lacks
    assert "notes" in everything.columns  # all read, so the message about 'price' can list the file's columns
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="is a folder, not a file"):
        data.io.read_table(tmp_path / "empty")


def test_parquet_reads_only_the_rows_of_the_series_asked_for(tmp_path):
    from rnnforecast.data.io import read_table

    table = pd.DataFrame({"id": [" a", "b", "a", "c", "b "], "t": range(5), "y": [1.0, 2, 3, 4, 5]})
    table.to_parquet(tmp_path / "p.parquet")
    found = read_table(tmp_path / "p.parquet", ["id", "t", "y"], rows=("id", ["a", "b"]))
    assert found["y"].tolist() == [1.0, 2, 3, 5]  # ids compared as stripped text
    numbered = pd.DataFrame({"id": [7, 8, 7], "y": [1.0, 2, 3]})
    numbered.to_parquet(tmp_path / "n.parquet")
    assert read_table(tmp_path / "n.parquet", ["id", "y"], rows=("id", ["7"]))["y"].tolist() == [1.0, 3.0]
    pd.DataFrame({"id": [7.0, 8.0], "y": [1.0, 2]}).to_parquet(tmp_path / "f.parquet")  # no filter: all rows
    assert len(read_table(tmp_path / "f.parquet", ["id", "y"], rows=("id", ["7.0"]))) == 2


def test_comment_lines_before_the_header_are_skipped_and_lines_still_counted(tmp_path):
    rows = [f"2024-01-{d:02d},{d}" for d in range(1, 21)]
    path = tmp_path / "portal.csv"
    path.write_text("# Daily readings, station 7\n# Source: a data portal\ndate,y\n" + "\n".join(rows) + "\n")
    series = _load(path)
    assert series.frame["y"].tolist() == list(map(float, range(1, 21))) and series.index.name == "date"
    rows[4] = "2024-01-05,oops"  # the file's line 8: two comments, the header, then the fifth row
    path.write_text("# Daily readings, station 7\n# Source: a data portal\ndate,y\n" + "\n".join(rows) + "\n")
    with pytest.raises(UserError, match="'oops' on line 8"):
        _load(path)
    # the header itself written as a comment (gnuplot, loggers): "#date,y" over rows of dates and numbers
    logger = tmp_path / "logger.csv"
    logger.write_text("# logger export\n#date,y\n" + "\n".join(f"2024-01-{d:02d},{d}" for d in range(1, 21)) + "\n")
    assert _load(logger).frame["y"].iloc[-1] == 20.0
    ids = tmp_path / "ids.csv"  # a '#' inside the table is a value, not a comment
    ids.write_text("date,shop,y\n" + "".join(f"2024-01-{d:02d},#{d % 2},{d}\n" for d in range(1, 21)))
    assert _load(ids, categorical=["shop"]).frame.shape == (20, 3)


def test_missing_markers_and_sentinels_are_missing_values_with_a_note(tmp_path):
    values = [str(d) for d in range(1, 21)]
    values[3], values[7], values[11] = "?", ".", "--"  # UCI's, SAS's and a spreadsheet's markers
    path = tmp_path / "marked.csv"
    path.write_text("date,y\n" + "".join(f"2024-01-{d:02d},{v}\n" for d, v in zip(range(1, 21), values)))
    series = _load(path)
    assert series.frame["y"].isna().sum() == 3 and series.frame["y"].iloc[4] == 5.0
    assert any("3 empty or missing cell(s)" in note and "'y' 3" in note for note in series.notes)
    values[3], values[7], values[11] = "-999", "-999.0", "nd"
    path.write_text("date,y\n" + "".join(f"2024-01-{d:02d},{v}\n" for d, v in zip(range(1, 21), values)))
    with pytest.raises(UserError, match="'nd' on line 13"):  # not a marker unless the config says so
        _load(path)
    series = _load(path, missing_values=[-999, "ND"])
    assert series.frame["y"].isna().sum() == 3 and series.frame["y"].min() == 1.0
    parquet = tmp_path / "marked.parquet"  # numeric Parquet columns: the sentinel too
    pd.DataFrame({"date": pd.date_range("2024-01-01", periods=20), "y": [-999.0] + list(range(2, 21))}).to_parquet(parquet)
    assert np.isnan(_load(parquet, missing_values=-999).frame["y"].iloc[0])  # one marker needs no list
    assert _load(parquet).frame["y"].iloc[0] == -999.0  # no sentinel unless asked


def test_a_time_column_that_mixes_date_formats_is_named_with_its_lines(tmp_path):
    """06/01/2024 among ISO dates is read month first (June 1st): the user is told where the formats differ."""
    path = tmp_path / "mixed.csv"
    rows = [f"2024-01-{d:02d},{d}" for d in range(1, 29)]
    rows[5] = "06/01/2024,6"
    path.write_text("date,y\n" + "\n".join(rows) + "\n")
    notes = " ".join(_load(path).notes)
    assert "mixes date formats ('2024-01-01' on line 2, '06/01/2024' on line 7)" in notes
    clean = tmp_path / "clean.csv"
    clean.write_text("date,y\n" + "\n".join(f"2024-01-{d:02d},{d}" for d in range(1, 29)) + "\n")
    assert not any("mixes date formats" in note for note in _load(clean).notes)


def test_a_semicolon_file_with_decimal_commas_is_read_without_settings(tmp_path):
    """Excel's CSV in most European locales: 'Datum;y' over '2024-01-01;1,5'; a note says how it was read."""
    path = tmp_path / "excel.csv"
    path.write_text("Datum;y\n" + "".join(f"2024-01-{d:02d};{d},5\n" for d in range(1, 21)))
    series = _load(path)
    assert series.frame["y"].iloc[0] == 1.5 and any("decimal comma" in note for note in series.notes)
    panel = tmp_path / "panel.csv"
    panel.write_text("id;Datum;y\n" + "".join(f"{k};2024-01-{d:02d};{d},{k}\n" for k in (1, 2) for d in range(1, 21)))
    found = data.load_panel(config.validate({"data": {"path": str(panel), "targets": ["y"], "id_column": "id"}}).data)
    assert found["1"].frame["y"].iloc[0] == 1.1 and found["2"].frame["y"].iloc[2] == 3.2
    points = tmp_path / "points.csv"  # a decimal point anywhere: the file is read as written, no guess
    points.write_text("Datum;y\n" + "".join(f"2024-01-{d:02d};{d}.5\n" for d in range(1, 21)))
    assert _load(points).frame["y"].iloc[0] == 1.5 and not any("decimal comma" in n for n in _load(points).notes)


@pytest.mark.parametrize(("cells", "frequency", "first"), [
    (list(pd.date_range("2020-01-01", periods=56).strftime("%Y%m%d")), "D", "2020-01-01"),  # YYYYMMDD numbers
    ([f"{2000 + i // 12}{i % 12 + 1:02d}" for i in range(30)], "MS", "2000-01-01"),  # YYYYMM numbers
    ([f"{2000 + i // 12}M{i % 12 + 1:02d}" for i in range(30)], "MS", "2000-01-01"),  # Eurostat
    ([f"{2000 + i // 12}-M{i % 12 + 1:02d}" for i in range(30)], "MS", "2000-01-01"),  # pandas: 00:00:01
    ([f"Q{i % 4 + 1} {1990 + i // 4}" for i in range(30)], "QS", "1990-01-01"),
    ([f"{1990 + i // 4} Q{i % 4 + 1}" for i in range(30)], "QS", "1990-01-01"),
    ([str(44927 + i) for i in range(30)], "D", "2023-01-01"),  # Excel's serial dates, pasted as numbers
    ([str(44927 + i / 24) for i in range(48)], "h", "2023-01-01"),  # with the time of day as a fraction
])
def test_dates_as_statistics_offices_and_exchanges_write_them(tmp_path, cells, frequency, first):
    path = tmp_path / "p.csv"
    path.write_text("date,y\n" + "".join(f"{cell},{i}\n" for i, cell in enumerate(cells)))
    series = _load(path)
    assert str(series.index[0].date()) == first and len(series.frame) == len(cells)
    assert series.frequency.startswith(frequency[0]) and series.frame["y"].iloc[-1] == len(cells) - 1


def test_six_digit_step_numbers_stay_steps(tmp_path):
    """100001 to 100040 would be months up to 100012, then month 13: not dates, so steps."""
    path = tmp_path / "s.csv"
    path.write_text("time,y\n" + "".join(f"{100001 + i},{i}\n" for i in range(40)))
    assert not isinstance(_load(path).index, pd.DatetimeIndex)


def _stores(tmp_path, item=False):
    """Three stores' daily sales in one long table (and two items per store)."""
    rows = [f"{store},{item_},2024-01-{day:02d},{store * 10 + day}"
            for store in (1, 2, 3) for item_ in ((1, 2) if item else (1,)) for day in range(1, 29)]
    path = tmp_path / "stores.csv"
    path.write_text("store,item,date,sales\n" + "\n".join(rows) + "\n")
    return path


def test_several_series_in_one_file_without_an_id_column_are_refused_not_averaged(tmp_path):
    path = _stores(tmp_path)
    with pytest.raises(UserError, match=r"56 of 84 rows whose timestamp repeats.*Column 'store' tells them apart: set "
                                        r"data.id_column: store.*data.duplicates: mean"):
        _load(path, targets=["sales"])
    merged = _load(path, targets=["sales"], duplicates="mean")  # said on purpose: combined, with a note
    assert merged.frame["sales"].iloc[0] == 21 and any("56 duplicated" in note for note in merged.notes)
    with pytest.raises(UserError, match=r"Column 'item' tells them apart within one store: make one column of both"):
        data.load_panel(config.validate({"data": {"path": str(_stores(tmp_path, item=True)), "targets": ["sales"],
                                                  "id_column": "store"}}).data)


def test_two_series_sharing_an_id_in_a_panel_are_named_as_such(tmp_path):
    """It said "set data.id_column", which the config had set."""
    days = [f"2024-01-{d:02d}" for d in range(1, 29)]
    rows = [f"{key},{day},{level + d}" for key, level in (("1", 10), ("1", 1000), ("2", 50)) for d, day in enumerate(days)]
    (tmp_path / "p.csv").write_text("id,date,y\n" + "\n".join(rows) + "\n")  # 001 and 01, saved by a spreadsheet
    cfg = config.validate({"data": {"path": str(tmp_path / "p.csv"), "targets": ["y"], "id_column": "id"}}).data
    with pytest.raises(UserError, match=r"\(id=1\) has 28 of 56 rows whose timestamp repeats.*Two series may share "
                                        r"this id in the file.*001 and 1"):
        data.load_panel(cfg)


def test_a_time_of_day_column_without_its_date_is_refused_with_the_way_to_give_both(tmp_path):
    path = tmp_path / "clock.csv"
    path.write_text("time,y\n" + "".join(f"{h % 24:02d}:00,{h}\n" for h in range(72)))
    with pytest.raises(UserError, match=r"data.time_column: \[date, time\]"):
        _load(path)


def test_parquet_timestamps_are_found_without_data_time_column(tmp_path):
    """NeuralForecast's layout (unique_id, ds, y) saved as Parquet: `ds` is a native timestamp, not text."""
    stamps = pd.date_range("2024-01-01", periods=48, freq="h")
    table = pd.concat([pd.DataFrame({"unique_id": k, "ds": stamps, "y": np.arange(48.0) + i})
                       for i, k in enumerate(("a", "b"))])
    table.to_parquet(tmp_path / "panel.parquet", index=False)
    panel = data.load_panel(config.validate({"data": {"path": str(tmp_path / "panel.parquet"), "targets": ["y"],
                                                      "id_column": "unique_id"}}).data)
    assert panel["b"].index[0] == stamps[0] and panel["b"].frequency == "h"
    table[table.unique_id == "a"].drop(columns="unique_id").assign(ds=stamps.tz_localize("UTC")).to_parquet(
        tmp_path / "one.parquet", index=False)
    one = _load(tmp_path / "one.parquet")
    assert isinstance(one.index, pd.DatetimeIndex) and str(one.index.tz) == "UTC" and len(one.frame) == 48
    pd.DataFrame({"y": np.arange(48.0), "recorded": stamps}).to_parquet(tmp_path / "named.parquet", index=False)
    assert _load(tmp_path / "named.parquet").index[-1] == stamps[-1]  # a timestamp type under any name, any place


@pytest.mark.parametrize("first", ["2024-01-01,5.0", "10.038", "01/02/2024;3"])
def test_a_file_without_a_header_row_is_named_as_such(tmp_path, first):
    path = tmp_path / "values.csv"
    path.write_text(first + "\n" + "\n".join(first for _ in range(5)) + "\n")
    with pytest.raises(UserError, match=r"no header row: its first line \(.+\) reads as values. Add a first line"):
        _load(path)


def test_a_missing_column_in_a_file_with_a_header_is_not_called_headerless(tmp_path):
    path = tmp_path / "named.csv"
    path.write_text("date,2024\n2024-01-01,5\n2024-01-02,6\n")
    with pytest.raises(UserError, match="Fix the name in the config") as found:
        _load(path)
    assert "header" not in str(found.value)


def test_currency_signs_percent_signs_and_thousands_commas_are_read_with_a_note(tmp_path):
    path = tmp_path / "sales.csv"
    cells = ['"$1,234.50"', "-$5", "", '"$ 2,000"', "n/a", "+$7.25"]
    path.write_text("date,y,rate\n" + "".join(f"2024-01-{d + 1:02d},{c},{d}.5%\n" for d, c in enumerate(cells * 4)))
    series = _load(path, features=["rate"])
    np.testing.assert_allclose(series.frame["y"].to_numpy()[:6], [1234.5, -5, np.nan, 2000, np.nan, 7.25])
    assert series.frame["rate"].iloc[3] == 3.5  # a percent stays in percent
    notes = " ".join(series.notes)
    assert "column 'y' in sales.csv writes its numbers with '$' signs and commas between thousands" in notes
    assert ("column 'rate' in sales.csv writes its numbers with '%' signs ('0.5%'): read as plain numbers "
            "(0.5 percent)") in notes


@pytest.mark.parametrize(("cells", "fact"), [
    (["$1", "€2"], r"'\$1' on line 2.*different signs.*write the column one way"),  # two currencies: no one way
    (["$1", "12kg"], "'12kg' on line"),  # a unit that is no sign
])
def test_a_column_written_two_ways_is_still_refused_by_its_cell(tmp_path, cells, fact):
    path = tmp_path / "mixed.csv"
    path.write_text("date,y\n" + "".join(f"2024-01-{d + 1:02d},{c}\n" for d, c in enumerate(cells * 5)))
    with pytest.raises(UserError, match=fact):
        _load(path)


def test_a_panel_notes_its_signs_once(tmp_path):
    path = tmp_path / "panel.csv"
    rows = [f"{key},2024-01-{d + 1:02d},${d}" for key in "abc" for d in range(20)]
    path.write_text("id,date,y\n" + "\n".join(rows) + "\n")
    panel = data.load_panel(config.validate({"data": {"path": str(path), "targets": ["y"], "id_column": "id"}}).data)
    assert panel["b"].frame["y"].iloc[4] == 4.0
    notes = [note for series in panel.values() for note in series.notes if "'$' signs" in note]
    assert len(notes) == 1


def test_thousands_commas_without_a_sign_are_read_only_where_unambiguous(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("date,y\n" + "".join(f'2024-01-{d:02d},"1,{d:03d}.5"\n' for d in range(1, 21)))
    assert _load(path).frame["y"].iloc[1] == 1002.5  # 1,002.5: the comma can only group thousands


def test_a_category_the_training_file_did_not_have_is_named_at_predict(tmp_path):
    """predict --data with a wind direction never seen in training forecast from all-zero one-hot inputs silently."""
    days = pd.date_range("2024-01-01", periods=20, freq="D").strftime("%Y-%m-%d")
    path = tmp_path / "new.csv"
    path.write_text("date,y,wind\n" + "".join(f"{d},{i},{'XX' if i > 16 else 'NW'}\n" for i, d in enumerate(days)))
    cfg = config.validate({"data": {"path": str(path), "targets": ["y"], "categorical": ["wind"]}}).data
    series = data.load_series(cfg, categories={"wind": ["NW", "SE"]})
    assert any("'wind'" in note and "'XX' on 3 row(s)" in note for note in series.notes)
    assert not any("'wind'" in note for note in data.load_series(cfg).notes)  # training: every value is known


def test_readings_one_step_apart_with_jitter_go_to_their_nearest_step(tmp_path):
    """A logger every ~10 minutes (±90 s): put in the step each fell in, a quarter of the steps were made up and
    their neighbours averaged two readings 10 minutes apart. Readings several per step are still averaged per step."""
    rng = np.random.default_rng(0)
    base = pd.date_range("2024-01-01", periods=300, freq="10min")
    times = base + pd.to_timedelta(rng.integers(-90, 91, 300), unit="s")
    path = tmp_path / "logger.csv"
    pd.DataFrame({"t": times, "y": np.arange(300.0)}).to_csv(path, index=False)
    with pytest.raises(UserError, match=r"no regular frequency.*mostly about 10 minutes apart: data.frequency: 10min"):
        _load(path)
    series = _load(path, frequency="10min")
    assert len(series.frame) == 300 and series.frame["y"].tolist() == list(range(300))
    assert any("moved to its nearest step" in note for note in series.notes)
    hourly = _load(path, frequency="h")  # six readings an hour: the mean of those in each hour
    assert len(hourly.frame) == 50 and any("the mean of the rows in it" in note for note in hourly.notes)


def test_ids_that_differ_only_by_spaces_are_named_as_the_cause_of_repeated_times(tmp_path):
    days = pd.date_range("2024-01-01", periods=30, freq="D").strftime("%Y-%m-%d")
    rows = [f"{key},{day},{i}" for key in ("North", "North ", "South") for i, day in enumerate(days)]
    path = tmp_path / "ws.csv"
    path.write_text("store,date,y\n" + "\n".join(rows) + "\n")
    cfg = config.validate({"data": {"path": str(path), "targets": ["y"], "id_column": "store"}}).data
    with pytest.raises(UserError, match=r"store=North.*written 2 ways \('North', 'North '\).*by more than spaces"):
        data.load_panel(cfg)
    # a space before the id, right after the separator, which the reader skips: the message still sees it
    path.write_text("store,date,y\n" + "\n".join(rows).replace("North ,", " North,") + "\n")
    with pytest.raises(UserError, match=r"store=North.*written 2 ways \('North', ' North'\).*by more than spaces"):
        data.load_panel(cfg)


def test_year_and_week_columns_are_iso_weeks_and_named_as_such(tmp_path):
    """`year,week` (retail's way) was read year-month with weeks 1-12 as months, and refused at week 13; without
    data.time_column the week column was offered as the id of many series."""
    weeks = pd.date_range("2020-01-06", periods=120, freq="W-MON")
    path = tmp_path / "weekly.csv"
    path.write_text("year,week,y\n" + "".join(f"{w.isocalendar()[0]},{w.isocalendar()[1]},{i}\n"
                                              for i, w in enumerate(weeks)))
    with pytest.raises(UserError, match=r"Column 'week' looks like part of the time: set data.time_column: \[year, week\]"):
        _load(path)
    series = _load(path, time_column=["year", "week"])
    assert series.index[0] == pd.Timestamp("2020-01-06") and len(series.frame) == 120 and series.frame["y"].notna().all()


def test_a_logger_title_wider_than_the_header_names_the_header_line(tmp_path):
    """Campbell's TOA5 files start with an 8-cell title over a 3-cell header: the message listed the title's cells."""
    path = tmp_path / "toa5.csv"
    path.write_text('"TOA5","Station1","CR1000","1234","CR1000.Std.32","CPU:prog.CR1","5678","Table1"\n'
                    '"TIMESTAMP","RECORD","AirTC"\n' + "".join(f'"2020-01-01 00:{m:02d}:00",{m},{m / 10}\n' for m in range(30)))
    with pytest.raises(UserError, match=r"column 'AirTC'.*Line 2 names it.*start each with #"):
        _load(path, targets=["AirTC"])


def test_the_time_column_named_as_the_id_or_a_target_is_refused_as_such(tmp_path):
    """id_column: Date made every day a one-row series ("too few to tell the frequency"); time_column: Temp said to
    set data.time_column, which the user had just done."""
    days = pd.date_range("2024-01-01", periods=20, freq="D").strftime("%Y-%m-%d")
    path = tmp_path / "t.csv"
    path.write_text("Date,Temp\n" + "".join(f"{d},{i}\n" for i, d in enumerate(days)))
    cfg = config.validate({"data": {"path": str(path), "targets": ["Temp"], "id_column": "Date"}}).data
    with pytest.raises(UserError, match=r"data.id_column 'Date' in t.csv holds times \('2024-01-01', '2024-01-02'"):
        data.load_panel(cfg)
    with pytest.raises(UserError, match=r"time_column 'Temp' is also a target"):
        config.validate({"data": {"path": str(path), "targets": ["Temp"], "time_column": "Temp"}})


def test_numbers_are_read_as_the_nearest_float_to_what_the_file_wrote(tmp_path):
    """pandas' fast parser read 13.529999732971193 as 13.529999732971191 (one cell in twenty of ETTh1's):
    backtest's `actual` could not be joined with the file on equality."""
    written = ["13.529999732971193", "1.5129382449148094", "0.1", "2.675", "1e-7", "-0.0"]
    days = pd.date_range("2024-01-01", periods=len(written), freq="D").strftime("%Y-%m-%d")
    path = tmp_path / "exact.csv"
    path.write_text("date,y\n" + "".join(f"{d},{w}\n" for d, w in zip(days, written)))
    assert _load(path).frame["y"].tolist() == [float(w) for w in written]


@pytest.mark.parametrize("written, typed", [("Tempe\u0301rature", "Température"), ("Min\u00a0Temp", "Min Temp"),
                                            ("Min Temp", "Min\u00a0Temp")])
def test_column_names_that_differ_only_in_invisible_unicode_match(tmp_path, written, typed):
    # a name decomposed (e + combining accent, as macOS writes) or with a spreadsheet's non-breaking space looks the
    # same in every message: "Did you mean 'Température'?" named the very name the config had
    path = tmp_path / "t.csv"
    path.write_text("date," + written + "\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 21)), encoding="utf-8")
    series = _load(path, targets=[typed])
    assert series.frame.iloc[:, 0].tolist() == list(range(1, 21))


@pytest.mark.parametrize("written, step", [("{y}-W{w:02d}-1", "W-MON"), ("{y}-W{w}", "W-MON"), ("{y}W{w:02d}", "W-MON")])
def test_iso_week_dates_with_a_weekday_or_an_unpadded_week_are_read(tmp_path, written, step):
    # 2021-W02-1 (ISO 8601's full week date) and 2021-W2 became step numbers, and the season 1
    weeks = pd.date_range("2021-01-04", periods=60, freq="W-MON")
    path = tmp_path / "w.csv"
    path.write_text("week,y\n" + "".join(written.format(y=d.isocalendar()[0], w=d.isocalendar()[1]) + f",{i}\n"
                                         for i, d in enumerate(weeks)))
    series = _load(path)
    assert series.frequency == step and list(series.index) == list(weeks)


def test_unix_seconds_with_fractions_are_read_as_times(tmp_path):
    path = tmp_path / "ts.csv"
    path.write_text("ts,y\n" + "".join(f"{1577836800 + 3600 * i}.5,{i}\n" for i in range(30)))
    series = _load(path)
    assert series.frequency == "h" and series.index[0] == pd.Timestamp("2020-01-01 00:00:00.500")


def test_a_time_column_written_in_a_form_not_read_says_which_forms_are(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("when,y\n" + "".join(f"day {i} of 2024,{i}\n" for i in range(1, 21)))
    with pytest.raises(UserError, match=r"is written in a form that is not read as dates \('day 1 of 2024' on line 2.*"
                                        r"ISO weeks \(2024-W05, 2024-W05-3\)"):
        _load(path, time_column="when")


def test_a_percent_column_with_a_cell_without_its_sign_is_refused_naming_it(tmp_path):
    # 0.15 beside 20.7%: 0.15 percent, or a fraction for 15% (a cell a spreadsheet left unformatted)? read silently before
    cells = [f"{10 + d}.5%" for d in range(20)]
    cells[7] = "0.15"
    cells[9] = "0"  # zero is zero either way
    path = tmp_path / "p.csv"
    path.write_text("date,y\n" + "".join(f"2024-01-{d + 1:02d},{c}\n" for d, c in enumerate(cells)))
    with pytest.raises(UserError, match=r"as percentages \('10.5%'\) but line 9 holds '0.15' without the sign"):
        _load(path)
    cells[7] = "17.5%"
    path.write_text("date,y\n" + "".join(f"2024-01-{d + 1:02d},{c}\n" for d, c in enumerate(cells)))
    assert _load(path).frame["y"].iloc[[7, 9]].tolist() == [17.5, 0.0]


def test_excels_separator_line_is_read_as_the_separator(tmp_path):
    # Excel writes `sep=;` as the first line of a CSV for locales whose lists use ';': it was read as the header
    path = tmp_path / "excel.csv"
    rows = "".join(f"2024-01-{d:02d};{d},5\r\n" for d in range(1, 21))
    path.write_bytes(("\ufeffsep=;\r\nDate;y\r\n" + rows).encode("utf-8"))
    series = _load(path)
    assert series.frame["y"].iloc[:2].tolist() == [1.5, 2.5] and series.frequency == "D"


def test_newer_weekly_data_with_a_missing_week_is_on_the_runs_weekly_grid(tmp_path):
    """Sundays with one week missing infer as 7D; `--data` of them for a W-SUN run was refused as another frequency."""
    sundays = pd.date_range("2020-01-05", periods=60, freq="W-SUN").delete(30)
    (tmp_path / "w.csv").write_text("date,y\n" + "".join(f"{d:%Y-%m-%d},{i}\n" for i, d in enumerate(sundays)))
    cfg = config.validate({"data": {"path": str(tmp_path / "w.csv"), "targets": ["y"]}}).data
    series = data.load_series(cfg, frequency="W-SUN", strict_frequency=True)
    assert len(series.frame) == 60 and any("1 missing time step" in n for n in series.notes)  # a gap, filled
    daily = pd.date_range("2020-01-05", periods=60, freq="D")  # a finer or coarser grid is still refused
    (tmp_path / "d.csv").write_text("date,y\n" + "".join(f"{d:%Y-%m-%d},{i}\n" for i, d in enumerate(daily)))
    with pytest.raises(UserError, match="has time steps of D, but the run was trained on steps of W-SUN"):
        data.load_series(cfg.model_copy(update={"path": str(tmp_path / "d.csv")}), frequency="W-SUN",
                         strict_frequency=True)


def test_rows_off_an_inferred_grid_name_the_first_and_the_setting_that_keeps_them(tmp_path):
    """Month ends with leap Februaries written as the 28th: the value was dropped and interpolated over, said only
    as "6 row(s) off the ME grid were dropped"."""
    ends = pd.date_range("2000-01-31", periods=60, freq="ME")
    written = [d - pd.Timedelta(days=1) if d.month == 2 and d.day == 29 else d for d in ends]
    (tmp_path / "m.csv").write_text("date,y\n" + "".join(f"{d:%Y-%m-%d},{i}\n" for i, d in enumerate(written)))
    notes = _load(tmp_path / "m.csv").notes
    assert [n for n in notes if "row(s) off the ME grid in m.csv were dropped (the first: 2000-02-28" in n
            and "Set data.frequency: ME to keep each in its step" in n]
    kept = _load(tmp_path / "m.csv", frequency="ME")
    assert kept.frame["y"].notna().all()  # the setting named keeps the leap Februaries' values


def test_monthly_rows_on_the_15th_are_told_the_frequency_that_reads_them(tmp_path):
    days = pd.date_range("2000-01-01", periods=48, freq="MS") + pd.Timedelta(days=14)
    (tmp_path / "m.csv").write_text("date,y\n" + "".join(f"{d:%Y-%m-%d},{i}\n" for i, d in enumerate(days)))
    with pytest.raises(UserError, match=r"no regular frequency.*one a month .*data.frequency: MS puts each on its month"):
        _load(tmp_path / "m.csv")
    assert len(_load(tmp_path / "m.csv", frequency="MS").frame) == 48
