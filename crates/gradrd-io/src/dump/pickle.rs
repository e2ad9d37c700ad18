//! A minimal, bounded pickle virtual machine for the programs `torch.save`
//! writes (protocol 2; a few protocol 4 opcodes are accepted too).
//!
//! `serde-pickle` 1.2 cannot be used: it rejects `BINPERSID`, the opcode
//! through which torch references tensor storages. This VM builds plain
//! [`Value`]s and never executes anything: `GLOBAL` pushes a name,
//! `REDUCE`/`NEWOBJ` record a call (except `collections.OrderedDict()`, which
//! becomes an empty dict), `BUILD` on a recorded call gives it its state in
//! place ([`Value::Object`]: how dataclasses such as
//! torch.distributed.checkpoint's `Metadata` arrive) and on anything else
//! drops it (a state dict's `_metadata`).
//!
//! Objects are shared as in CPython's unpickler: while the program runs,
//! every container lives once in an arena and the stack and the memo hold
//! references to it, so `DUP`, `MEMOIZE`/`BINPUT` and `BINGET` never copy,
//! and `APPEND`/`SETITEMS`/`BUILD` change the one object every reference
//! sees (a dict pickled twice is filled once and read twice). At `STOP` the
//! result is frozen into reference-counted [`Value`]s, each arena object
//! converted once however often it is referenced, so a "billion laughs"
//! program stays linear in its size.
//!
//! Bounds, whatever the program (CPython's unpickler has none of them):
//!
//! ```text
//! every length                  checked against the remaining input before any allocation
//! values held at once           stack + memo + container items + containers <= MAX_CELLS
//! nesting of the result         <= MAX_DEPTH containers (freezing and dropping never overflow the stack)
//! work                          O(1) amortized per opcode byte (no copy-on-write, no rescans)
//! cycles (a list holding itself) cut when frozen: the inner reference reads as None
//! ```
//!
//! So a program of n bytes runs in O(n) time and at most
//! `MAX_CELLS` × ~48 bytes of memory. Opcode reference: CPython
//! `Lib/pickletools.py`; object sharing: `Lib/pickle.py` (`_Unpickler`).

use std::collections::HashMap;
use std::rc::Rc;

/// Deepest nesting of containers accepted.
pub const MAX_DEPTH: u32 = 200;

/// Most values the VM holds at once: stack entries, memo entries, items of
/// containers and containers, counted together. A `torch.save` state dict
/// costs about 30 per tensor, so this admits some 140 000 tensors.
pub const MAX_CELLS: usize = 1 << 22;

/// A value on the pickle stack.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    /// `module.name` pushed by `GLOBAL`/`STACK_GLOBAL`.
    Global(Rc<(String, String)>),
    Tuple(Rc<Node<Vec<Value>>>),
    List(Rc<Node<Vec<Value>>>),
    /// Key–value pairs in insertion order.
    Dict(Rc<Node<Vec<(Value, Value)>>>),
    /// `func(*args)` recorded by `REDUCE`/`NEWOBJ`.
    Call(Rc<Node<(Value, Value)>>),
    /// The result of `BINPERSID`: a persistent id (torch: a storage tuple).
    Persistent(Rc<Node<Value>>),
    /// A recorded call and the state `BUILD` gave it: `(call, state)`.
    Object(Rc<Node<(Value, Value)>>),
}

/// A container with its nesting depth.
#[derive(Debug, Clone, PartialEq)]
pub struct Node<T> {
    depth: u32,
    pub item: T,
}

impl Value {
    fn depth(&self) -> u32 {
        match self {
            Value::Tuple(n) | Value::List(n) => n.depth,
            Value::Dict(n) => n.depth,
            Value::Call(n) | Value::Object(n) => n.depth,
            Value::Persistent(n) => n.depth,
            _ => 0,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items, if this is a tuple.
    pub fn as_tuple(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(n) => Some(&n.item),
            _ => None,
        }
    }

    /// The items, if this is a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(n) => Some(&n.item),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// `(module, name)` of the class and the state of a built object.
    pub fn as_object(&self) -> Option<(&(String, String), &Value)> {
        let Value::Object(object) = self else {
            return None;
        };
        let Value::Call(call) = &object.item.0 else {
            return None;
        };
        let Value::Global(class) = &call.item.0 else {
            return None;
        };
        Some((class, &object.item.1))
    }

    /// The value under string key `key`, if this is a dict holding it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let Value::Dict(dict) = self else {
            return None;
        };
        dict.item
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
}

/// Why a pickle program was rejected, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickleError {
    /// Byte offset of the offending opcode.
    pub offset: u64,
    pub what: String,
}

/// Runs a pickle program and returns the value `STOP` yields.
pub fn load(program: &[u8]) -> Result<Value, PickleError> {
    load_prefix(program).map(|(value, _)| value)
}

/// Runs the pickle program at the start of `input` (several pickles may
/// follow each other, as in a legacy `torch.save` file) and returns the
/// value `STOP` yields with the number of bytes the program took.
pub fn load_prefix(input: &[u8]) -> Result<(Value, usize), PickleError> {
    let mut vm = Vm {
        input,
        at: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        arena: Vec::new(),
        stored: 0,
    };
    loop {
        let offset = vm.at as u64;
        let step = vm.step().and_then(|stop| {
            vm.check_cells()?;
            match stop {
                Some(slot) => vm.freeze_root(&slot).map(Some),
                None => Ok(None),
            }
        });
        match step {
            Ok(Some(value)) => return Ok((value, vm.at)),
            Ok(None) => {}
            Err(what) => return Err(PickleError { offset, what }),
        }
    }
}

/// A value while the program runs: a scalar (never a container), or a
/// reference to a container in the arena.
#[derive(Debug, Clone)]
enum Slot {
    Leaf(Value),
    Obj(usize),
}

/// A container of the arena; its items reference other slots.
#[derive(Debug)]
enum Obj {
    Tuple(Vec<Slot>),
    List(Vec<Slot>),
    Dict(Vec<(Slot, Slot)>),
    Call(Slot, Slot),
    Persistent(Slot),
    Object(Slot, Slot),
}

impl Obj {
    /// Cells it holds: itself and its items.
    fn cells(&self) -> usize {
        1 + match self {
            Obj::Tuple(items) | Obj::List(items) => items.len(),
            Obj::Dict(pairs) => 2 * pairs.len(),
            Obj::Call(..) | Obj::Object(..) => 2,
            Obj::Persistent(_) => 1,
        }
    }
}

struct Vm<'p> {
    input: &'p [u8],
    at: usize,
    stack: Vec<Slot>,
    /// Stack lengths at each `MARK`.
    marks: Vec<usize>,
    memo: HashMap<u32, Slot>,
    arena: Vec<Obj>,
    /// Cells held by the arena ([`Obj::cells`] summed).
    stored: usize,
}

/// What [`Vm::freeze`] knows of an arena object.
#[derive(Clone)]
enum Frozen {
    Unvisited,
    /// Being frozen: a reference to it from inside is a cycle.
    InProgress,
    Done(Value),
}

impl<'p> Vm<'p> {
    fn take(&mut self, n: usize) -> Result<&'p [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.input.len());
        let end = end.ok_or_else(|| format!("truncated: needs {n} more bytes"))?;
        let bytes = &self.input[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn take_len(&mut self, width: usize) -> Result<usize, String> {
        let len = match width {
            1 => u64::from(self.take_array::<1>()?[0]),
            4 => u64::from(u32::from_le_bytes(self.take_array()?)),
            _ => u64::from_le_bytes(self.take_array()?),
        };
        usize::try_from(len).map_err(|_| "length out of range".to_string())
    }

    fn take_line(&mut self) -> Result<String, String> {
        let rest = &self.input[self.at..];
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("unterminated line")?;
        let line = String::from_utf8(rest[..len].to_vec()).map_err(|_| "line is not UTF-8")?;
        self.at += len + 1;
        Ok(line)
    }

    fn take_str(&mut self, width: usize) -> Result<Value, String> {
        let len = self.take_len(width)?;
        let bytes = self.take(len)?;
        let text = std::str::from_utf8(bytes).map_err(|_| "string is not UTF-8")?;
        Ok(Value::Str(Rc::from(text)))
    }

    /// The [`MAX_CELLS`] bound, checked after every opcode.
    fn check_cells(&self) -> Result<(), String> {
        let cells = self.stack.len() + self.memo.len() + self.stored;
        if cells > MAX_CELLS {
            return Err(format!(
                "the program holds more than {MAX_CELLS} values at once (gradrd's limit for a pickle)"
            ));
        }
        Ok(())
    }

    fn push(&mut self, value: Value) {
        self.stack.push(Slot::Leaf(value));
    }

    /// Puts `obj` in the arena and pushes a reference to it.
    fn push_obj(&mut self, obj: Obj) {
        let slot = self.alloc(obj);
        self.stack.push(slot);
    }

    fn alloc(&mut self, obj: Obj) -> Slot {
        self.stored += obj.cells();
        self.arena.push(obj);
        Slot::Obj(self.arena.len() - 1)
    }

    fn pop(&mut self) -> Result<Slot, String> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err("pop across a MARK".into());
        }
        self.stack.pop().ok_or_else(|| "stack underflow".into())
    }

    fn top(&self) -> Result<&Slot, String> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err("stack underflow at MARK".into());
        }
        self.stack.last().ok_or_else(|| "stack underflow".into())
    }

    /// The arena object the top of the stack references.
    fn top_obj(&mut self) -> Result<&mut Obj, String> {
        match self.top()? {
            Slot::Obj(id) => {
                let id = *id;
                Ok(&mut self.arena[id])
            }
            Slot::Leaf(_) => Err("not a container".into()),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<Slot>, String> {
        let mark = self.marks.pop().ok_or("no MARK on the stack")?;
        Ok(self.stack.split_off(mark))
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Slot>, String> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() < floor + n {
            return Err("stack underflow".into());
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn memo_put(&mut self, index: u32) -> Result<(), String> {
        let slot = self.top()?.clone();
        self.memo.insert(index, slot);
        Ok(())
    }

    fn memo_get(&mut self, index: u32) -> Result<(), String> {
        let slot = self
            .memo
            .get(&index)
            .cloned()
            .ok_or_else(|| format!("memo {index} is empty"))?;
        self.stack.push(slot);
        Ok(())
    }

    fn append(&mut self, items: Vec<Slot>) -> Result<(), String> {
        let added = items.len();
        let Ok(Obj::List(list)) = self.top_obj() else {
            return Err("APPEND to a non-list".into());
        };
        list.extend(items);
        self.stored += added;
        Ok(())
    }

    fn set_items(&mut self, items: Vec<Slot>) -> Result<(), String> {
        if !items.len().is_multiple_of(2) {
            return Err("SETITEMS with an odd number of items".into());
        }
        let added = items.len();
        let Ok(Obj::Dict(dict)) = self.top_obj() else {
            return Err("SETITEM on a non-dict".into());
        };
        let mut items = items.into_iter();
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            dict.push((key, value));
        }
        self.stored += added;
        Ok(())
    }

    fn call(&mut self, func: Slot, args: Slot) {
        if let Slot::Leaf(Value::Global(g)) = &func {
            if g.0 == "collections" && g.1 == "OrderedDict" {
                return self.push_obj(Obj::Dict(Vec::new()));
            }
        }
        self.push_obj(Obj::Call(func, args));
    }

    /// `BUILD`: a recorded call on top becomes `Object(call, state)` in
    /// place, so every reference to it sees the state; other objects drop it.
    fn build(&mut self, state: Slot) -> Result<(), String> {
        let Slot::Obj(id) = *self.top()? else {
            return Ok(());
        };
        if !matches!(self.arena[id], Obj::Call(..)) {
            return Ok(());
        }
        let placeholder = Obj::Persistent(Slot::Leaf(Value::None));
        let call = std::mem::replace(&mut self.arena[id], placeholder);
        self.stored -= 2;
        let call = self.alloc(call);
        let object = Obj::Object(call, state);
        self.stored += object.cells();
        self.arena[id] = object;
        Ok(())
    }

    /// The result of the program: the arena objects reachable from `slot`
    /// converted into [`Value`]s, each once.
    fn freeze_root(&self, slot: &Slot) -> Result<Value, String> {
        let mut frozen = vec![Frozen::Unvisited; self.arena.len()];
        self.freeze(slot, &mut frozen, 0)
    }

    /// `path` is the number of containers above `slot`; recursion stops at
    /// [`MAX_DEPTH`].
    fn freeze(&self, slot: &Slot, frozen: &mut [Frozen], path: u32) -> Result<Value, String> {
        let id = match slot {
            Slot::Leaf(value) => return Ok(value.clone()),
            Slot::Obj(id) => *id,
        };
        match &frozen[id] {
            Frozen::Done(value) => return Ok(value.clone()),
            Frozen::InProgress => return Ok(Value::None),
            Frozen::Unvisited => {}
        }
        if path >= MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        frozen[id] = Frozen::InProgress;
        let mut each = |s: &Slot| self.freeze(s, frozen, path + 1);
        let value = match &self.arena[id] {
            Obj::Tuple(items) => Value::Tuple(node_of(
                items.iter().map(&mut each).collect::<Result<Vec<_>, _>>()?,
            )),
            Obj::List(items) => Value::List(node_of(
                items.iter().map(&mut each).collect::<Result<Vec<_>, _>>()?,
            )),
            Obj::Dict(pairs) => {
                let mut frozen_pairs = Vec::with_capacity(pairs.len());
                for (key, value) in pairs {
                    let key = each(key)?;
                    frozen_pairs.push((key, each(value)?));
                }
                Value::Dict(node_of(frozen_pairs))
            }
            Obj::Call(func, args) => {
                let func = each(func)?;
                Value::Call(node_of((func, each(args)?)))
            }
            Obj::Object(call, state) => {
                let call = each(call)?;
                Value::Object(node_of((call, each(state)?)))
            }
            Obj::Persistent(pid) => Value::Persistent(node_of(each(pid)?)),
        };
        frozen[id] = Frozen::Done(value.clone());
        Ok(value)
    }

    /// Executes one opcode; `Some` at `STOP`.
    fn step(&mut self) -> Result<Option<Slot>, String> {
        let [opcode] = self.take_array::<1>()?;
        match opcode {
            0x80 => {
                // PROTO
                let [version] = self.take_array::<1>()?;
                if version > 5 {
                    return Err(format!("unsupported pickle protocol {version}"));
                }
            }
            0x95 => {
                // FRAME: the frame length is only a hint
                self.take(8)?;
            }
            b'.' => {
                // STOP
                let slot = self.pop()?;
                return Ok(Some(slot));
            }
            b'}' => self.push_obj(Obj::Dict(Vec::new())),
            b']' => self.push_obj(Obj::List(Vec::new())),
            b')' => self.push_obj(Obj::Tuple(Vec::new())),
            b'(' => self.marks.push(self.stack.len()),
            b'q' => {
                let [index] = self.take_array::<1>()?;
                self.memo_put(u32::from(index))?;
            }
            b'r' => {
                let index = u32::from_le_bytes(self.take_array()?);
                self.memo_put(index)?;
            }
            0x94 => {
                // MEMOIZE
                let index = u32::try_from(self.memo.len()).map_err(|_| "memo overflow")?;
                self.memo_put(index)?;
            }
            b'h' => {
                let [index] = self.take_array::<1>()?;
                self.memo_get(u32::from(index))?;
            }
            b'j' => {
                let index = u32::from_le_bytes(self.take_array()?);
                self.memo_get(index)?;
            }
            b'X' => {
                let s = self.take_str(4)?;
                self.push(s);
            }
            0x8c => {
                let s = self.take_str(1)?;
                self.push(s);
            }
            0x8d => {
                let s = self.take_str(8)?;
                self.push(s);
            }
            b'T' | b'U' | b'B' | b'C' | 0x8e => {
                // BINSTRING, SHORT_BINSTRING (py2 str), BINBYTES, SHORT_BINBYTES, BINBYTES8
                let width = match opcode {
                    b'U' | b'C' => 1,
                    0x8e => 8,
                    _ => 4,
                };
                let len = self.take_len(width)?;
                let bytes = self.take(len)?;
                self.push(Value::Bytes(Rc::from(bytes)));
            }
            b'c' => {
                let module = self.take_line()?;
                let name = self.take_line()?;
                self.push(Value::Global(Rc::new((module, name))));
            }
            0x93 => {
                // STACK_GLOBAL
                let name = self.pop()?;
                let module = self.pop()?;
                match (module, name) {
                    (Slot::Leaf(Value::Str(m)), Slot::Leaf(Value::Str(n))) => {
                        self.push(Value::Global(Rc::new((m.to_string(), n.to_string()))))
                    }
                    _ => return Err("STACK_GLOBAL needs two strings".into()),
                }
            }
            b'Q' => {
                // BINPERSID
                let pid = self.pop()?;
                self.push_obj(Obj::Persistent(pid));
            }
            b'J' => {
                let n = i32::from_le_bytes(self.take_array()?);
                self.push(Value::Int(i64::from(n)));
            }
            b'K' => {
                let [n] = self.take_array::<1>()?;
                self.push(Value::Int(i64::from(n)));
            }
            b'M' => {
                let n = u16::from_le_bytes(self.take_array()?);
                self.push(Value::Int(i64::from(n)));
            }
            0x8a => {
                // LONG1: little-endian two's complement of n bytes
                let len = self.take_len(1)?;
                if len > 8 {
                    return Err(format!("integer of {len} bytes is too large"));
                }
                let bytes = self.take(len)?;
                let negative = bytes.last().is_some_and(|b| b & 0x80 != 0);
                let mut full = if negative { [0xFFu8; 8] } else { [0u8; 8] };
                full[..len].copy_from_slice(bytes);
                self.push(Value::Int(i64::from_le_bytes(full)));
            }
            b'G' => {
                let x = f64::from_be_bytes(self.take_array()?);
                self.push(Value::Float(x));
            }
            b'N' => self.push(Value::None),
            0x88 => self.push(Value::Bool(true)),
            0x89 => self.push(Value::Bool(false)),
            0x85..=0x87 => {
                let items = self.pop_n(usize::from(opcode - 0x84))?;
                self.push_obj(Obj::Tuple(items));
            }
            b't' => {
                let items = self.pop_mark()?;
                self.push_obj(Obj::Tuple(items));
            }
            b'l' => {
                let items = self.pop_mark()?;
                self.push_obj(Obj::List(items));
            }
            b'd' => {
                let items = self.pop_mark()?;
                self.push_obj(Obj::Dict(Vec::new()));
                self.set_items(items)?;
            }
            b'R' | 0x81 => {
                // REDUCE, NEWOBJ
                let args = self.pop()?;
                let func = self.pop()?;
                self.call(func, args);
            }
            b'b' => {
                // BUILD
                let state = self.pop()?;
                self.build(state)?;
            }
            b's' => {
                let items = self.pop_n(2)?;
                self.set_items(items)?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                self.set_items(items)?;
            }
            b'a' => {
                let item = self.pop()?;
                self.append(vec![item])?;
            }
            b'e' => {
                let items = self.pop_mark()?;
                self.append(items)?;
            }
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let top = self.top()?.clone();
                self.stack.push(top);
            }
            other => return Err(format!("unsupported opcode 0x{other:02x}")),
        }
        Ok(None)
    }
}

/// What a frozen container holds, for its depth.
trait Children {
    fn deepest(&self) -> u32;
}

impl Children for Vec<Value> {
    fn deepest(&self) -> u32 {
        self.iter().map(Value::depth).max().unwrap_or(0)
    }
}

impl Children for Vec<(Value, Value)> {
    fn deepest(&self) -> u32 {
        self.iter()
            .map(|(k, v)| k.depth().max(v.depth()))
            .max()
            .unwrap_or(0)
    }
}

impl Children for (Value, Value) {
    fn deepest(&self) -> u32 {
        self.0.depth().max(self.1.depth())
    }
}

impl Children for Value {
    fn deepest(&self) -> u32 {
        self.depth()
    }
}

/// A frozen container one level above the deepest of its children.
fn node_of<T: Children>(item: T) -> Rc<Node<T>> {
    Rc::new(Node {
        depth: item.deepest() + 1,
        item,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn loads_a_dict_with_a_persistent_id() {
        // pickletools-annotated protocol-2 program as torch.save writes it:
        // {'a': Call(_rebuild_tensor_v2, (Persistent(('storage', FloatStorage, '0', 'cpu', 6)), 0, (2, 3), (3, 1)))}
        let program = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06K\x06tq\x07QK\x00K\x02K\x03\x86q\x08K\x03K\x01\x86q\t\x89ccollections\nOrderedDict\nq\n)Rq\x0btq\x0cRq\ru.";
        let value = load(program).unwrap();
        let Value::Dict(dict) = value else {
            panic!("not a dict: {value:?}")
        };
        assert_eq!(dict.item.len(), 1);
        assert_eq!(dict.item[0].0.as_str(), Some("a"));
        let Value::Call(call) = &dict.item[0].1 else {
            panic!("not a call")
        };
        assert_eq!(
            call.item.0,
            Value::Global(Rc::new((
                "torch._utils".into(),
                "_rebuild_tensor_v2".into()
            )))
        );
        let args = call.item.1.as_tuple().unwrap();
        let Value::Persistent(pid) = &args[0] else {
            panic!("no persistent id")
        };
        assert_eq!(pid.item.as_tuple().unwrap()[2].as_str(), Some("0"));
        assert_eq!(args[1], Value::Int(0));
        assert_eq!(args[2].as_tuple().unwrap(), &[Value::Int(2), Value::Int(3)]);
    }

    #[test]
    fn long1_and_binfloat() {
        // pickle.dumps(-129, 2) == b'\x80\x02\x8a\x02\x7f\xff.'; pickle.dumps(1.5, 2) == b'\x80\x02G?\xf8\x00\x00\x00\x00\x00\x00.'
        assert_eq!(
            load(b"\x80\x02\x8a\x02\x7f\xff.").unwrap(),
            Value::Int(-129)
        );
        assert_eq!(
            load(b"\x80\x02G?\xf8\x00\x00\x00\x00\x00\x00.").unwrap(),
            Value::Float(1.5)
        );
    }

    #[test]
    fn rejects_corrupt_programs_with_an_offset() {
        let cases: [&[u8]; 7] = [
            b"",
            b"\x80\x02",                  // no STOP
            b"\x80\x02X\xff\xff\xff\x7f", // string longer than the input
            b"\x80\x02h\x05.",            // empty memo slot
            b"\x80\x02K\x01K\x02s.",      // SETITEM on an int
            b"\x80\x02\xff.",             // unknown opcode
            b"\x80\x02K\x01(\x85.",       // TUPLE1 reaching below the MARK
        ];
        for program in cases {
            assert!(load(program).is_err(), "{program:?} loaded");
        }
        let err = load(b"\x80\x02\xff.").unwrap_err();
        assert_eq!(err.offset, 2);
    }

    #[test]
    fn deep_nesting_is_rejected_not_a_stack_overflow() {
        // ']' then ']a' repeated: each APPEND nests the previous list one level deeper
        let mut program = b"\x80\x02]".to_vec();
        for _ in 0..100_000 {
            program.extend_from_slice(b"]");
        }
        program.extend(std::iter::repeat_n(b'a', 100_000));
        program.push(b'.');
        assert!(load(&program).unwrap_err().what.contains("nesting"));
    }

    #[test]
    fn memo_sharing_stays_linear() {
        // L = []; repeat 60 times: L = [L, L]  (2^60 leaves if copied)
        let mut program = b"\x80\x02]q\x00".to_vec();
        for _ in 0..60 {
            program.extend_from_slice(b"(h\x00h\x00lq\x00");
        }
        program.push(b'.');
        assert!(matches!(load(&program), Ok(Value::List(_))));
    }

    #[test]
    fn a_memoized_dict_is_shared_not_copied() {
        // d = {}; memo 0 = d; d['a'] = 1; result (d, memo 0): both hold 'a'
        let value = load(b"\x80\x02}q\x00X\x01\x00\x00\x00aK\x01sh\x00\x86.").unwrap();
        let pair = value.as_tuple().unwrap();
        assert_eq!(pair[0].get("a"), Some(&Value::Int(1)));
        assert_eq!(pair[1].get("a"), Some(&Value::Int(1)));
    }

    #[test]
    fn build_changes_the_object_every_reference_sees() {
        // o = C(); memo 0 = o; o.__setstate__(7); result (o, memo 0)
        let value = load(b"\x80\x02cm\nC\n)Rq\x00K\x07bh\x00\x86.").unwrap();
        let pair = value.as_tuple().unwrap();
        for item in pair {
            let (class, state) = item.as_object().unwrap();
            assert_eq!(class, &("m".to_string(), "C".to_string()));
            assert_eq!(state, &Value::Int(7));
        }
    }

    #[test]
    fn a_cycle_is_cut_at_its_back_reference() {
        // L = []; L.append(L)
        let value = load(b"\x80\x02]q\x00h\x00a.").unwrap();
        assert_eq!(value.as_list().unwrap(), &[Value::None]);
    }

    #[test]
    fn values_held_at_once_are_bounded() {
        let mut program = b"\x80\x02".to_vec();
        program.extend(std::iter::repeat_n(b'N', MAX_CELLS + 1));
        program.push(b'.');
        let err = load(&program).unwrap_err();
        assert_eq!(err.offset, MAX_CELLS as u64 + 2);
        assert!(err.what.contains("values at once"), "{}", err.what);
        // pushing and popping holds one value: no limit on the length
        let mut program = b"\x80\x02".to_vec();
        for _ in 0..MAX_CELLS {
            program.extend(b"N0");
        }
        program.extend(b"N.");
        assert_eq!(load(&program).unwrap(), Value::None);
    }

    proptest! {
        /// Arbitrary bytes never panic the VM.
        #[test]
        fn never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = load(&bytes);
        }

        /// Flipping one byte of a valid program never panics.
        #[test]
        fn never_panics_on_corrupted_torch_pickle(at in 0usize..160, byte: u8) {
            let mut program = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06K\x06tq\x07QK\x00K\x02K\x03\x86q\x08K\x03K\x01\x86q\t\x89ccollections\nOrderedDict\nq\n)Rq\x0btq\x0cRq\ru.".to_vec();
            let at = at % program.len();
            program[at] = byte;
            let _ = load(&program);
        }
    }
}
