"use client";
// useSamples keeps the last n readings of a polled value, for live charts.

import { useEffect, useRef, useState } from "react";

export function useSamples<T>(value: T | undefined, pick: (v: T) => Record<string, number>, n = 60, stamp?: number) {
  const [samples, setSamples] = useState<Record<string, number>[]>([]);
  const last = useRef<T | undefined>(undefined);
  useEffect(() => {
    if (value === undefined || value === last.current) return;
    last.current = value;
    setSamples((s) => [...s, { t: Date.now(), ...pick(value) }].slice(-n));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value, stamp]);
  return samples;
}
