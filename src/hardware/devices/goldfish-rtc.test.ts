// SPDX-License-Identifier: GPL-2.0-only
// qtest-style Goldfish RTC tests with a fake wall clock, following the access sequences of
// Linux's rtc-goldfish driver (read TIME_LOW then TIME_HIGH; set ALARM_HIGH then ALARM_LOW).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GoldfishRtc, RTC_ALARM_HIGH, RTC_ALARM_LOW, RTC_ALARM_STATUS, RTC_CLEAR_ALARM, RTC_CLEAR_INTERRUPT,
  RTC_IRQ_ENABLED, RTC_TIME_HIGH, RTC_TIME_LOW } from './goldfish-rtc.ts';

// 2026-11-26T06:00:00.123456789Z in ns, computed from Date (ms) plus a sub-ms part.
const T0 = BigInt(Date.UTC(2026, 10, 26, 6, 0, 0, 123)) * 1_000_000n + 456_789n;

function setup() {
  const clock = { ns: T0 };
  const line = { level: false, set(l: boolean) { line.level = l; } };
  const rtc = new GoldfishRtc({ wallclockNs: () => clock.ns, irq: line });
  const readTime = () => {
    const lo = BigInt(rtc.read(RTC_TIME_LOW, 4));
    return (BigInt(rtc.read(RTC_TIME_HIGH, 4)) << 32n) | lo;
  };
  const setAlarm = (ns: bigint) => {
    rtc.write(RTC_ALARM_HIGH, 4, Number(ns >> 32n));
    rtc.write(RTC_ALARM_LOW, 4, Number(ns & 0xffff_ffffn));
  };
  return { clock, line, rtc, readTime, setAlarm };
}

test('TIME_LOW then TIME_HIGH read the wall clock in ns; TIME_HIGH is latched by TIME_LOW', () => {
  const t = setup();
  assert.equal(t.readTime(), T0);
  // The guest's date is the host's date: ns / 10^6 is the Date's millisecond count.
  assert.equal(new Date(Number(t.readTime() / 1_000_000n)).toISOString(), '2026-11-26T06:00:00.123Z');
  const lo = t.rtc.read(RTC_TIME_LOW, 4);
  t.clock.ns += 1n << 40n; // high half changes after the low read
  assert.equal((BigInt(t.rtc.read(RTC_TIME_HIGH, 4)) << 32n) | BigInt(lo), T0);
  assert.equal(t.readTime(), T0 + (1n << 40n));
});

test('setting the time moves an offset; time keeps running from there', () => {
  const t = setup();
  const target = 1_000_000_000_000_000_000n; // 2001-09-09T01:46:40Z
  t.rtc.write(RTC_TIME_HIGH, 4, Number(target >> 32n));
  t.rtc.write(RTC_TIME_LOW, 4, Number(target & 0xffff_ffffn));
  assert.equal(t.readTime(), target);
  t.clock.ns += 5_000n;
  assert.equal(t.readTime(), target + 5_000n);
});

test('an alarm fires when due; the line follows IRQ_ENABLED and CLEAR_INTERRUPT', () => {
  const t = setup();
  t.rtc.write(RTC_IRQ_ENABLED, 4, 1);
  t.setAlarm(T0 + 1_000_000n);
  assert.equal(t.rtc.read(RTC_ALARM_STATUS, 4), 1);
  assert.equal(t.rtc.nsUntilAlarm(), 1_000_000);
  t.clock.ns += 999_999n;
  t.rtc.tick();
  assert.equal(t.line.level, false);
  t.clock.ns += 1n;
  t.rtc.tick();
  assert.equal(t.line.level, true);
  assert.equal(t.rtc.read(RTC_ALARM_STATUS, 4), 0);
  assert.equal(t.rtc.nsUntilAlarm(), Infinity);
  t.rtc.write(RTC_IRQ_ENABLED, 4, 0);
  assert.equal(t.line.level, false, 'masked');
  t.rtc.write(RTC_IRQ_ENABLED, 4, 1);
  assert.equal(t.line.level, true, 'still pending');
  t.rtc.write(RTC_CLEAR_INTERRUPT, 4, 1);
  assert.equal(t.line.level, false);
  assert.equal((BigInt(t.rtc.read(RTC_ALARM_HIGH, 4)) << 32n) | BigInt(t.rtc.read(RTC_ALARM_LOW, 4)), T0 + 1_000_000n);
});

test('an alarm in the past fires at once; CLEAR_ALARM disarms', () => {
  const t = setup();
  t.rtc.write(RTC_IRQ_ENABLED, 4, 1);
  t.setAlarm(T0 - 1n);
  assert.equal(t.line.level, true);
  t.rtc.write(RTC_CLEAR_INTERRUPT, 4, 1);
  t.setAlarm(T0 + 10n);
  t.rtc.write(RTC_CLEAR_ALARM, 4, 1);
  t.clock.ns += 100n;
  t.rtc.tick();
  assert.equal(t.line.level, false);
  assert.equal(t.rtc.read(RTC_ALARM_STATUS, 4), 0);
});

test('hostile accesses read 0 and change nothing', () => {
  const t = setup();
  const before = JSON.stringify(t.rtc.saveState());
  for (const off of [0x20, 0x24, 0xffc, 0x1000, -4, 2]) {
    assert.equal(t.rtc.read(off, 4), 0);
    t.rtc.write(off, 4, 0xffff_ffff);
  }
  t.rtc.write(RTC_TIME_LOW, 1, 0);
  t.rtc.write(RTC_TIME_LOW, 2, 0);
  assert.equal(t.rtc.read(RTC_TIME_LOW, 2), 0);
  assert.equal(JSON.stringify(t.rtc.saveState()), before);
  assert.equal(t.readTime(), T0);
});

test('save/restore keeps the guest-set offset and an armed alarm', () => {
  const a = setup();
  a.rtc.write(RTC_TIME_HIGH, 4, 0);
  a.rtc.write(RTC_IRQ_ENABLED, 4, 1);
  const guestNow = a.readTime();
  a.setAlarm(guestNow + 50n);
  const b = setup();
  assert.equal(b.rtc.restoreState(a.rtc.saveState()), true);
  assert.equal(b.readTime(), guestNow);
  b.clock.ns += 50n;
  b.rtc.tick();
  assert.equal(b.line.level, true);
  assert.equal(b.rtc.restoreState({ ...a.rtc.saveState(), offsetNs: 'x' }), false);
});

test('reading the time fires a due alarm without a tick()', () => {
  const t = setup();
  t.rtc.write(RTC_IRQ_ENABLED, 4, 1);
  t.setAlarm(T0 + 10n);
  t.clock.ns += 10n;
  assert.equal(t.line.level, false);
  t.readTime();
  assert.equal(t.line.level, true);
  assert.equal(t.rtc.read(RTC_ALARM_STATUS, 4), 0);
});
