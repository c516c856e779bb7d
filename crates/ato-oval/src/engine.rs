//! The OVAL evaluator: definitions -> criteria -> tests -> objects and states, with variables.
//!
//! Every object, variable, test and definition is computed at most once per evaluator and
//! shared; independent definitions can be evaluated from several threads at once (each value
//! sits in a `OnceLock`, so a second thread asking for an object being collected waits for
//! it instead of collecting it again). References that loop (an extend_definition cycle, a
//! variable that depends on itself) give `error`, never a hang.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use ato_content::oval::{
    Check, Component, Criteria, Criterion, Datatype, Entity, Family, FilterAction, Object,
    ObjectBody, OvalDefinitions, Set, SetOperator, State, Test, VariableBody,
};
use ato_target::Target;

use crate::compare::compare;
use crate::item::{Collected, Flag, Item, Status};
use crate::pcre::RegexCache;
use crate::probes::{self, ItemFilter, ObjectRequest, ProbeContext, RequestEntity, SharedCache};
use crate::result::{existence, OvalResult, Tally};
use crate::variables::{self, Values};

/// The outcome of one test, kept for results and reports.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub result: OvalResult,
    /// Each item the object collected, with its result against the states (`NotEvaluated`
    /// when the test has no states or did not compare).
    pub items: Vec<(Arc<Item>, OvalResult)>,
    pub message: Option<String>,
}

/// Evaluates the definitions of one OVAL document against one target.
pub struct Evaluator<'a> {
    defs: &'a OvalDefinitions,
    target: &'a Target,
    regexes: &'a RegexCache,
    shared: &'a SharedCache,
    externals: HashMap<String, Vec<String>>,
    objects: HashMap<&'a str, OnceLock<Arc<Collected>>>,
    variables: HashMap<&'a str, OnceLock<Arc<Values>>>,
    tests: HashMap<&'a str, OnceLock<Arc<TestOutcome>>>,
    definitions: HashMap<&'a str, OnceLock<OvalResult>>,
}

thread_local! {
    /// What this thread is computing right now, to find reference loops.
    static IN_PROGRESS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Marks `key` as being computed on this thread; `None` if it already is (a loop).
struct Guard;

impl Guard {
    fn enter(key: String) -> Option<Guard> {
        IN_PROGRESS.with(|s| {
            let mut s = s.borrow_mut();
            if s.contains(&key) {
                None
            } else {
                s.push(key);
                Some(Guard)
            }
        })
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        IN_PROGRESS.with(|s| {
            s.borrow_mut().pop();
        });
    }
}

impl<'a> Evaluator<'a> {
    /// An evaluator for `defs`; `externals` gives the values of external variables by id
    /// (from XCCDF `check-export`).
    pub fn new(
        defs: &'a OvalDefinitions,
        target: &'a Target,
        regexes: &'a RegexCache,
        shared: &'a SharedCache,
        externals: HashMap<String, Vec<String>>,
    ) -> Evaluator<'a> {
        Evaluator {
            defs,
            target,
            regexes,
            shared,
            externals,
            objects: defs
                .objects
                .keys()
                .map(|k| (k.as_str(), OnceLock::new()))
                .collect(),
            variables: defs
                .variables
                .keys()
                .map(|k| (k.as_str(), OnceLock::new()))
                .collect(),
            tests: defs
                .tests
                .keys()
                .map(|k| (k.as_str(), OnceLock::new()))
                .collect(),
            definitions: defs
                .definitions
                .iter()
                .map(|d| (d.id.as_str(), OnceLock::new()))
                .collect(),
        }
    }

    pub fn definitions(&self) -> &'a OvalDefinitions {
        self.defs
    }

    /// The result of a definition; `Error` for an unknown id or a loop.
    pub fn definition(&self, id: &str) -> OvalResult {
        let Some(cell) = self.definitions.get(id) else {
            tracing::warn!("definition `{id}` is not in the OVAL document");
            return OvalResult::Error;
        };
        if let Some(r) = cell.get() {
            return *r;
        }
        let Some(_g) = Guard::enter(format!("def:{id}")) else {
            tracing::warn!("definition `{id}` extends itself");
            return OvalResult::Error;
        };
        *cell.get_or_init(|| {
            let Some(def) = self.defs.definition(id) else {
                return OvalResult::Error;
            };
            match &def.criteria {
                Some(c) => self.criteria(c),
                None => OvalResult::NotEvaluated,
            }
        })
    }

    fn criteria(&self, c: &Criteria) -> OvalResult {
        let mut tally = Tally::default();
        for child in &c.children {
            let r = match child {
                Criterion::Criteria(inner) => self.criteria(inner),
                Criterion::Test { test_ref, negate } => self.test(test_ref).result.negate(*negate),
                Criterion::ExtendDefinition {
                    definition_ref,
                    negate,
                } => self.definition(definition_ref).negate(*negate),
            };
            tally.add(r);
        }
        tally.by_operator(c.operator).negate(c.negate)
    }

    /// The outcome of a test.
    pub fn test(&self, id: &str) -> Arc<TestOutcome> {
        let Some(cell) = self.tests.get(id) else {
            return Arc::new(TestOutcome {
                result: OvalResult::Error,
                items: Vec::new(),
                message: Some(format!("test `{id}` is not in the OVAL document")),
            });
        };
        Arc::clone(cell.get_or_init(|| Arc::new(self.evaluate_test(&self.defs.tests[id]))))
    }

    /// Every test evaluated so far, by id.
    pub fn evaluated_tests(&self) -> Vec<(&'a str, Arc<TestOutcome>)> {
        let mut out: Vec<_> = self
            .tests
            .iter()
            .filter_map(|(k, c)| c.get().map(|t| (*k, Arc::clone(t))))
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// Every definition evaluated so far, by id.
    pub fn evaluated_definitions(&self) -> Vec<(&'a str, OvalResult)> {
        let mut out: Vec<_> = self
            .definitions
            .iter()
            .filter_map(|(k, c)| c.get().map(|r| (*k, *r)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// Every variable computed so far, by id.
    pub fn evaluated_variables(&self) -> Vec<(&'a str, Arc<Values>)> {
        let mut out: Vec<_> = self
            .variables
            .iter()
            .filter_map(|(k, c)| c.get().map(|v| (*k, Arc::clone(v))))
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// Every object collected so far, by id.
    pub fn collected_objects(&self) -> Vec<(&'a str, Arc<Collected>)> {
        let mut out: Vec<_> = self
            .objects
            .iter()
            .filter_map(|(k, c)| c.get().map(|t| (*k, Arc::clone(t))))
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    fn evaluate_test(&self, test: &Test) -> TestOutcome {
        let Some(object_ref) = &test.object_ref else {
            // unknown_test and the like: nothing to collect.
            return TestOutcome {
                result: OvalResult::Unknown,
                items: Vec::new(),
                message: None,
            };
        };
        let mut states = Vec::new();
        for s in &test.state_refs {
            match self.defs.states.get(s) {
                Some(st) => states.push(st),
                None => {
                    return TestOutcome {
                        result: OvalResult::Error,
                        items: Vec::new(),
                        message: Some(format!("test `{}`: state `{s}` is not defined", test.id)),
                    }
                }
            }
        }
        let collected = self.object(object_ref);
        let has_states = !states.is_empty();
        let exists = collected
            .items
            .iter()
            .filter(|i| i.status == Status::Exists)
            .count();
        let errors = collected
            .items
            .iter()
            .filter(|i| i.status == Status::Error)
            .count();
        let any_exist = test.check_existence == ato_content::oval::Existence::AnyExist;
        let mut items: Vec<(Arc<Item>, OvalResult)> = collected
            .items
            .iter()
            .map(|i| (Arc::clone(i), OvalResult::NotEvaluated))
            .collect();

        use ato_content::oval::Existence as E;
        let mut why = None;
        let result = match collected.flag {
            Flag::Error if any_exist && !has_states => OvalResult::True,
            Flag::Error => OvalResult::Error,
            Flag::NotCollected if any_exist && !has_states => OvalResult::True,
            Flag::NotCollected => OvalResult::Unknown,
            Flag::NotApplicable if any_exist && !has_states => OvalResult::True,
            Flag::NotApplicable => OvalResult::NotApplicable,
            Flag::DoesNotExist => {
                OvalResult::from_bool(matches!(test.check_existence, E::NoneExist | E::AnyExist))
            }
            Flag::Complete => {
                let r = existence(test.check_existence, exists, errors);
                if r == OvalResult::True && has_states {
                    self.check_states(test, &states, &mut items, &mut why)
                } else {
                    r
                }
            }
            Flag::Incomplete => {
                let r = match test.check_existence {
                    E::AnyExist => OvalResult::True,
                    E::AtLeastOneExists if exists > 0 => OvalResult::True,
                    E::NoneExist if exists > 0 => OvalResult::False,
                    E::OnlyOneExists if exists > 1 => OvalResult::False,
                    _ => OvalResult::Unknown,
                };
                if r == OvalResult::True && has_states {
                    match self.check_states(test, &states, &mut items, &mut why) {
                        OvalResult::True if test.check == Check::AtLeastOne => OvalResult::True,
                        OvalResult::False => OvalResult::False,
                        _ => OvalResult::Unknown,
                    }
                } else {
                    r
                }
            }
        };
        // Why the test could not be decided, where a comparison says; else what collecting
        // the object said.
        let message = match (result, why) {
            (OvalResult::Error | OvalResult::Unknown, Some(why)) => Some(why),
            _ => collected.messages.first().cloned(),
        };
        TestOutcome {
            result,
            items,
            message,
        }
    }

    /// The test's check over its items against its states; the first reason a comparison
    /// could not be made goes to `why`, for the results.
    fn check_states(
        &self,
        test: &Test,
        states: &[&State],
        items: &mut [(Arc<Item>, OvalResult)],
        why: &mut Option<String>,
    ) -> OvalResult {
        let mut tally = Tally::default();
        for (item, result) in items.iter_mut() {
            let r = match item.status {
                Status::Error | Status::NotCollected => OvalResult::Error,
                Status::DoesNotExist => OvalResult::False,
                Status::Exists => {
                    Tally::of(states.iter().map(|s| self.compare_with_state(item, s, why)))
                        .by_operator(test.state_operator)
                }
            };
            *result = r;
            tally.add(r);
        }
        tally.by_check(test.check)
    }

    /// Compares an item with a state: each state entity against the item's fields of that
    /// name, combined by `entity_check`, then the entities by the state's operator.
    pub fn item_against_state(&self, item: &Item, state: &State) -> OvalResult {
        self.compare_with_state(item, state, &mut None)
    }

    fn compare_with_state(
        &self,
        item: &Item,
        state: &State,
        why: &mut Option<String>,
    ) -> OvalResult {
        let mut tally = Tally::default();
        for entity in &state.entities {
            let r = self.item_against_entity(item, entity, why);
            if r == OvalResult::Error && why.is_none() {
                *why = Some(format!(
                    "state `{}`, entity `{}`: not comparable",
                    state.id, entity.name
                ));
            }
            tally.add(r);
        }
        tally.by_operator(state.operator)
    }

    fn item_against_entity(
        &self,
        item: &Item,
        entity: &Entity,
        why: &mut Option<String>,
    ) -> OvalResult {
        let fields: Vec<_> = item
            .fields
            .iter()
            .filter(|f| f.name == entity.name)
            .collect();
        if fields.is_empty() {
            return OvalResult::Unknown;
        }
        let expected: Arc<Values> = match &entity.var_ref {
            Some(var) => {
                let v = self.variable(var);
                if !v.usable() {
                    if why.is_none() {
                        let cause = v.message.clone().unwrap_or_else(|| v.flag.as_str().into());
                        *why = Some(format!(
                            "entity `{}`: variable `{var}` has no usable values: {cause}",
                            entity.name
                        ));
                    }
                    return OvalResult::Error;
                }
                v
            }
            None => Arc::new(Values::complete(
                entity.datatype,
                vec![entity.value.clone()],
            )),
        };
        let mut per_field = Tally::default();
        for f in fields {
            if f.status == Status::DoesNotExist {
                per_field.add(OvalResult::False);
                continue;
            }
            if f.status != Status::Exists {
                per_field.add(OvalResult::Error);
                continue;
            }
            let mut per_value = Tally::default();
            for value in &expected.values {
                let r = match compare(
                    entity.datatype,
                    entity.operation,
                    &f.value,
                    value,
                    self.regexes,
                ) {
                    Ok(b) => OvalResult::from_bool(b),
                    Err(e) => {
                        tracing::debug!("state entity `{}`: {e}", entity.name);
                        if why.is_none() {
                            *why = Some(format!("entity `{}`: {e}", entity.name));
                        }
                        OvalResult::Error
                    }
                };
                per_value.add(r);
            }
            let r = if entity.var_ref.is_some() {
                per_value.by_check(entity.var_check)
            } else {
                per_value.by_check(Check::All)
            };
            per_field.add(r);
        }
        per_field.by_check(entity.entity_check)
    }

    /// The collected items of an object, collecting it on first use.
    pub fn object(&self, id: &str) -> Arc<Collected> {
        let Some(cell) = self.objects.get(id) else {
            return Arc::new(Collected::error(format!(
                "object `{id}` is not in the OVAL document"
            )));
        };
        if let Some(c) = cell.get() {
            return Arc::clone(c);
        }
        let Some(_g) = Guard::enter(format!("obj:{id}")) else {
            return Arc::new(Collected::error(format!("object `{id}` depends on itself")));
        };
        Arc::clone(cell.get_or_init(|| {
            let object = &self.defs.objects[id];
            let _span = tracing::debug_span!("collect", object = id, kind = %object.kind).entered();
            Arc::new(self.collect(object))
        }))
    }

    fn collect(&self, object: &Object) -> Collected {
        match &object.body {
            ObjectBody::Set(set) => self.collect_set(set),
            ObjectBody::Entities {
                behaviors,
                entities,
                filters,
            } => {
                let states = self.filter_states(filters);
                let keeps = |item: &Item| self.passes_filters(item, &states);
                let mut request = ObjectRequest {
                    // With a filter state missing, nothing is filtered early; `apply_filters`
                    // then reports the object as an error.
                    filter: states.is_some().then(|| ItemFilter::new(&keeps)),
                    id: &object.id,
                    kind: &object.kind,
                    behaviors,
                    entities: Vec::with_capacity(entities.len()),
                };
                for e in entities {
                    match self.resolve_entity(e) {
                        Ok(r) => request.entities.push(r),
                        Err(c) => return c.with_message(format!("object `{}`", object.id)),
                    }
                }
                let collected = if object.kind.family == Family::Independent
                    && object.kind.name == "variable"
                {
                    self.collect_variable_object(&request)
                } else {
                    match probes::probe_for(&object.kind) {
                        Some(probe) => {
                            let ctx = ProbeContext {
                                target: self.target,
                                regexes: self.regexes,
                                shared: self.shared,
                            };
                            probe(&request, &ctx)
                        }
                        None => Collected::error(format!(
                            "object `{}`: ato has no probe for `{}_object` ({})",
                            object.id, object.kind.name, object.kind.namespace
                        )),
                    }
                };
                self.apply_filters(collected, filters)
            }
        }
    }

    /// Resolves an object entity's values; a variable without usable values decides the
    /// object's flag (`does not exist` when it has none, its own flag otherwise).
    fn resolve_entity(&self, e: &Entity) -> Result<RequestEntity, Collected> {
        let (values, from_variable) = match &e.var_ref {
            Some(var) => {
                let v = self.variable(var);
                if !v.usable() || v.values.is_empty() {
                    let flag = if v.usable() {
                        Flag::DoesNotExist
                    } else {
                        v.flag
                    };
                    let why = v.message.clone().unwrap_or_else(|| "no values".to_string());
                    return Err(Collected {
                        flag,
                        items: Vec::new(),
                        messages: vec![format!("variable `{var}` has no usable values: {why}")],
                    });
                }
                (v.values.clone(), true)
            }
            None => (
                if e.nil {
                    Vec::new()
                } else {
                    vec![e.value.clone()]
                },
                false,
            ),
        };
        Ok(RequestEntity {
            name: e.name.clone(),
            datatype: e.datatype,
            operation: e.operation,
            values,
            var_check: e.var_check,
            nil: e.nil,
            from_variable,
        })
    }

    fn collect_variable_object(&self, req: &ObjectRequest<'_>) -> Collected {
        let Some(var_ref) = req.entity("var_ref") else {
            return Collected::error(format!("object `{}` has no var_ref entity", req.id));
        };
        let mut items = Vec::new();
        for id in &var_ref.values {
            let v = self.variable(id);
            if !v.usable() {
                return Collected {
                    flag: v.flag,
                    items: Vec::new(),
                    messages: vec![format!("variable `{id}` has no usable values")],
                };
            }
            let mut item = Item::new("variable").string("var_ref", id.clone());
            for value in &v.values {
                item.push("value", v.datatype, value.clone());
            }
            items.push(item);
        }
        Collected::items(items)
    }

    /// The states of an object's filters with their actions; `None` if one is not defined.
    fn filter_states(
        &self,
        filters: &[ato_content::oval::Filter],
    ) -> Option<Vec<(&'a State, FilterAction)>> {
        filters
            .iter()
            .map(|f| self.defs.states.get(&f.state_ref).map(|s| (s, f.action)))
            .collect()
    }

    /// Whether an item passes every filter, as [`Evaluator::apply_filters`] decides it.
    fn passes_filters(&self, item: &Item, states: &Option<Vec<(&State, FilterAction)>>) -> bool {
        states.iter().flatten().all(|(state, action)| {
            let matches = self.item_against_state(item, state) == OvalResult::True;
            match action {
                FilterAction::Exclude => !matches,
                FilterAction::Include => matches,
            }
        })
    }

    fn apply_filters(&self, mut c: Collected, filters: &[ato_content::oval::Filter]) -> Collected {
        if filters.is_empty() || c.items.is_empty() {
            return c;
        }
        for f in filters {
            let Some(state) = self.defs.states.get(&f.state_ref) else {
                return Collected::error(format!("filter state `{}` is not defined", f.state_ref));
            };
            c.items.retain(|item| {
                let matches = self.item_against_state(item, state) == OvalResult::True;
                match f.action {
                    FilterAction::Exclude => !matches,
                    FilterAction::Include => matches,
                }
            });
        }
        if c.items.is_empty() && c.flag == Flag::Complete {
            c.flag = Flag::DoesNotExist;
        }
        c
    }

    fn collect_set(&self, set: &Set) -> Collected {
        let mut parts: Vec<Arc<Collected>> = Vec::new();
        for r in &set.object_refs {
            parts.push(self.object(r));
        }
        for s in &set.sets {
            parts.push(Arc::new(self.collect_set(s)));
        }
        let mut flag: Option<Flag> = None;
        let mut messages = Vec::new();
        for p in &parts {
            messages.extend(p.messages.iter().cloned());
            let pf = match p.flag {
                // An empty operand is complete for the purpose of the set operation.
                Flag::DoesNotExist => Flag::Complete,
                f => f,
            };
            flag = Some(variables::combine_flags(flag, pf));
        }
        let mut items: Vec<Arc<Item>> = Vec::new();
        let mut seen: HashSet<Arc<Item>> = HashSet::new();
        match set.operator {
            SetOperator::Union => {
                for p in &parts {
                    for i in &p.items {
                        if seen.insert(Arc::clone(i)) {
                            items.push(Arc::clone(i));
                        }
                    }
                }
            }
            SetOperator::Intersection => {
                if let Some((first, rest)) = parts.split_first() {
                    for i in &first.items {
                        if rest.iter().all(|p| p.items.contains(i)) && seen.insert(Arc::clone(i)) {
                            items.push(Arc::clone(i));
                        }
                    }
                }
            }
            SetOperator::Complement => {
                if let Some((first, rest)) = parts.split_first() {
                    for i in &first.items {
                        if !rest.iter().any(|p| p.items.contains(i)) && seen.insert(Arc::clone(i)) {
                            items.push(Arc::clone(i));
                        }
                    }
                }
            }
        }
        let mut flag = flag.unwrap_or(Flag::Complete);
        if flag == Flag::Complete && items.is_empty() {
            flag = Flag::DoesNotExist;
        }
        self.apply_filters(
            Collected {
                flag,
                items,
                messages,
            },
            &set.filters,
        )
    }

    /// The values of a variable, computed on first use.
    pub fn variable(&self, id: &str) -> Arc<Values> {
        let Some(cell) = self.variables.get(id) else {
            return Arc::new(Values::error(format!(
                "variable `{id}` is not in the OVAL document"
            )));
        };
        if let Some(v) = cell.get() {
            return Arc::clone(v);
        }
        let Some(_g) = Guard::enter(format!("var:{id}")) else {
            return Arc::new(Values::error(format!("variable `{id}` depends on itself")));
        };
        Arc::clone(cell.get_or_init(|| {
            let var = &self.defs.variables[id];
            let mut v = match &var.body {
                VariableBody::External => match self.externals.get(id) {
                    Some(vals) => Values::complete(var.datatype, vals.clone()),
                    None => Values::error(format!("external variable `{id}` has no value")),
                },
                VariableBody::Constant(vals) => Values::complete(var.datatype, vals.clone()),
                VariableBody::Local(c) => self.component(id, c),
            };
            v.datatype = var.datatype;
            Arc::new(v)
        }))
    }

    /// The values of one component of the local variable `var_id`.
    fn component(&self, var_id: &str, c: &Component) -> Values {
        match c {
            Component::Literal { value, datatype } => {
                Values::complete(*datatype, vec![value.clone()])
            }
            Component::Variable { var_ref } => (*self.variable(var_ref)).clone(),
            Component::Object {
                object_ref,
                item_field,
                record_field,
            } => {
                let collected = self.object(object_ref);
                let mut values = Vec::new();
                let mut datatype = Datatype::String;
                for item in &collected.items {
                    let mut found = false;
                    for f in item.fields.iter().filter(|f| f.name == item_field) {
                        found = true;
                        if record_field.is_some() {
                            return Values::error(format!(
                                "object `{object_ref}`: record fields are not supported"
                            ));
                        }
                        datatype = f.datatype;
                        if f.status == Status::Exists {
                            values.push(f.value.clone());
                        }
                    }
                    if !found {
                        return Values::error(format!(
                            "object `{object_ref}`: an item has no `{item_field}`"
                        ));
                    }
                }
                Values {
                    flag: collected.flag,
                    datatype,
                    values,
                    message: collected.messages.first().cloned(),
                }
            }
            Component::Arithmetic { operation, args } => {
                variables::arithmetic(*operation, &self.components(var_id, args))
            }
            Component::Concat { args } => variables::concat(&self.components(var_id, args)),
            Component::Count { args } => variables::count(&self.components(var_id, args)),
            Component::Unique { args } => variables::unique(&self.components(var_id, args)),
            Component::Begin { character, arg } => {
                variables::begin(character, self.component(var_id, arg))
            }
            Component::End { character, arg } => {
                variables::end(character, self.component(var_id, arg))
            }
            Component::EscapeRegex { arg } => variables::escape_regex(self.component(var_id, arg)),
            Component::GlobToRegex { glob_noescape, arg } => {
                variables::glob_to_regex(*glob_noescape, self.component(var_id, arg))
            }
            Component::RegexCapture { pattern, arg } => {
                variables::regex_capture(pattern, self.component(var_id, arg), self.regexes)
            }
            Component::Split { delimiter, arg } => {
                variables::split(delimiter, self.component(var_id, arg))
            }
            Component::Substring { start, length, arg } => {
                variables::substring(*start, *length, self.component(var_id, arg))
            }
            Component::TimeDifference {
                format_1,
                format_2,
                args,
            } => variables::time_difference(
                var_id,
                *format_1,
                *format_2,
                &self.components(var_id, args),
                jiff::Timestamp::now(),
            ),
        }
    }

    fn components(&self, var_id: &str, args: &[Component]) -> Vec<Values> {
        args.iter().map(|a| self.component(var_id, a)).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// An OVAL document from its definitions, tests, objects, states and variables.
    fn doc(defs: &str, tests: &str, objects: &str, states: &str, vars: &str) -> OvalDefinitions {
        let text = format!(
            r#"<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5"
  xmlns:ind="http://oval.mitre.org/XMLSchema/oval-definitions-5#independent">
<definitions>{defs}</definitions><tests>{tests}</tests><objects>{objects}</objects>
<states>{states}</states><variables>{vars}</variables></oval_definitions>"#
        );
        let d = roxmltree::Document::parse(&text).unwrap();
        ato_content::parse_oval_definitions(d.root_element(), Path::new("t.xml")).unwrap()
    }

    fn def(id: &str, criteria: &str) -> String {
        format!(
            r#"<definition id="{id}" class="compliance" version="1"><criteria {criteria}</criteria></definition>"#
        )
    }

    /// A variable test on `var`, with an optional state on its value.
    fn var_test(id: &str, _var: &str, state: Option<&str>, existence: &str, check: &str) -> String {
        let obj = format!("{id}-obj");
        let st = state
            .map(|s| format!(r#"<ind:state state_ref="{s}"/>"#))
            .unwrap_or_default();
        format!(
            r#"<ind:variable_test id="{id}" version="1" check="{check}" check_existence="{existence}" comment="c"><ind:object object_ref="{obj}"/>{st}</ind:variable_test>"#
        )
    }

    fn var_object(id: &str, var: &str) -> String {
        format!(
            r#"<ind:variable_object id="{id}-obj" version="1"><ind:var_ref>{var}</ind:var_ref></ind:variable_object>"#
        )
    }

    fn eval_with(d: &OvalDefinitions, id: &str, ext: HashMap<String, Vec<String>>) -> OvalResult {
        let dir = tempfile::tempdir().unwrap();
        let target = Target::offline(dir.path()).unwrap();
        let regexes = RegexCache::new();
        let shared = SharedCache::new();
        let e = Evaluator::new(d, &target, &regexes, &shared, ext);
        e.definition(id)
    }

    fn eval(d: &OvalDefinitions, id: &str) -> OvalResult {
        eval_with(d, id, HashMap::new())
    }

    const VARS: &str = r#"
<constant_variable id="v:words" datatype="string" version="1" comment="c"><value>alpha</value><value>beta</value></constant_variable>
<local_variable id="v:count" datatype="int" version="1" comment="c"><count><variable_component var_ref="v:words"/></count></local_variable>
<local_variable id="v:cat" datatype="string" version="1" comment="c"><concat><literal_component>x-</literal_component><variable_component var_ref="v:words"/></concat></local_variable>
<local_variable id="v:cap" datatype="string" version="1" comment="c"><regex_capture pattern="^(.)"><variable_component var_ref="v:words"/></regex_capture></local_variable>
<local_variable id="v:loop" datatype="string" version="1" comment="c"><concat><variable_component var_ref="v:loop"/></concat></local_variable>
<external_variable id="v:ext" datatype="int" version="1" comment="c"/>"#;

    #[test]
    fn variables_flow_through_functions_into_states() {
        let states = r#"
<ind:variable_state id="s:two" version="1"><ind:value datatype="int" operation="equals">2</ind:value></ind:variable_state>
<ind:variable_state id="s:xa" version="1"><ind:value operation="pattern match">^x-(alpha|beta)$</ind:value></ind:variable_state>
<ind:variable_state id="s:a" version="1"><ind:value>a</ind:value></ind:variable_state>
<ind:variable_state id="s:a1" version="1"><ind:value entity_check="at least one">a</ind:value></ind:variable_state>"#;
        let tests = [
            var_test(
                "t:count",
                "v:count",
                Some("s:two"),
                "at_least_one_exists",
                "all",
            ),
            var_test("t:cat", "v:cat", Some("s:xa"), "at_least_one_exists", "all"),
            var_test("t:cap", "v:cap", Some("s:a1"), "at_least_one_exists", "all"),
            var_test(
                "t:capall",
                "v:cap",
                Some("s:a"),
                "at_least_one_exists",
                "all",
            ),
        ]
        .concat();
        let objects = [
            var_object("t:count", "v:count"),
            var_object("t:cat", "v:cat"),
            var_object("t:cap", "v:cap"),
            var_object("t:capall", "v:cap"),
        ]
        .concat();
        let defs = [
            def("d:count", r#"><criterion test_ref="t:count"/>"#),
            def("d:cat", r#"><criterion test_ref="t:cat"/>"#),
            def("d:cap", r#"><criterion test_ref="t:cap"/>"#),
            def("d:capall", r#"><criterion test_ref="t:capall"/>"#),
        ]
        .concat();
        let d = doc(&defs, &tests, &objects, states, VARS);
        assert_eq!(eval(&d, "d:count"), OvalResult::True);
        assert_eq!(eval(&d, "d:cat"), OvalResult::True);
        assert_eq!(eval(&d, "d:cap"), OvalResult::True);
        // One item holds both values "a" and "b"; entity_check all: false.
        assert_eq!(eval(&d, "d:capall"), OvalResult::False);
    }

    #[test]
    fn criteria_negate_and_operators() {
        let states = r#"<ind:variable_state id="s:two" version="1"><ind:value datatype="int">2</ind:value></ind:variable_state>
<ind:variable_state id="s:three" version="1"><ind:value datatype="int">3</ind:value></ind:variable_state>"#;
        let tests = [
            var_test(
                "t:yes",
                "v:count",
                Some("s:two"),
                "at_least_one_exists",
                "all",
            ),
            var_test(
                "t:no",
                "v:count",
                Some("s:three"),
                "at_least_one_exists",
                "all",
            ),
        ]
        .concat();
        let objects = [
            var_object("t:yes", "v:count"),
            var_object("t:no", "v:count"),
        ]
        .concat();
        let defs = [
            def("d:and", r#"operator="AND"><criterion test_ref="t:yes"/><criterion test_ref="t:no"/>"#),
            def("d:or", r#"operator="OR"><criterion test_ref="t:yes"/><criterion test_ref="t:no"/>"#),
            def("d:neg", r#"operator="AND"><criterion test_ref="t:yes"/><criterion negate="true" test_ref="t:no"/>"#),
            def("d:xor", r#"operator="XOR"><criterion test_ref="t:yes"/><criterion test_ref="t:yes"/>"#),
            def("d:ext", r#"negate="true"><extend_definition definition_ref="d:and"/>"#),
        ]
        .concat();
        let d = doc(&defs, &tests, &objects, states, VARS);
        assert_eq!(eval(&d, "d:and"), OvalResult::False);
        assert_eq!(eval(&d, "d:or"), OvalResult::True);
        assert_eq!(eval(&d, "d:neg"), OvalResult::True);
        assert_eq!(eval(&d, "d:xor"), OvalResult::False);
        assert_eq!(eval(&d, "d:ext"), OvalResult::True);
    }

    #[test]
    fn loops_give_error_not_a_hang() {
        let tests = var_test("t:loop", "v:loop", None, "at_least_one_exists", "all");
        let objects = var_object("t:loop", "v:loop");
        let defs = [
            def("d:a", r#"><extend_definition definition_ref="d:b"/>"#),
            def("d:b", r#"><extend_definition definition_ref="d:a"/>"#),
            def("d:varloop", r#"><criterion test_ref="t:loop"/>"#),
        ]
        .concat();
        let d = doc(&defs, &tests, &objects, "", VARS);
        assert_eq!(eval(&d, "d:a"), OvalResult::Error);
        assert_eq!(eval(&d, "d:varloop"), OvalResult::Error);
        assert_eq!(eval(&d, "d:missing"), OvalResult::Error);
    }

    #[test]
    fn external_variables_come_from_the_caller() {
        let states = r#"<ind:variable_state id="s:ge" version="1"><ind:value datatype="int" operation="greater than or equal" var_ref="v:ext"/></ind:variable_state>"#;
        let tests = var_test(
            "t:ge",
            "v:count",
            Some("s:ge"),
            "at_least_one_exists",
            "all",
        );
        let objects = var_object("t:ge", "v:count");
        let defs = def("d:ge", r#"><criterion test_ref="t:ge"/>"#);
        let d = doc(&defs, &tests, &objects, states, VARS);
        let ext = |v: &str| HashMap::from([("v:ext".to_string(), vec![v.to_string()])]);
        assert_eq!(eval_with(&d, "d:ge", ext("2")), OvalResult::True);
        assert_eq!(eval_with(&d, "d:ge", ext("3")), OvalResult::False);
        // Unbound: the state's variable has no value, so the comparison is an error.
        assert_eq!(eval(&d, "d:ge"), OvalResult::Error);
    }

    #[test]
    fn time_difference_of_one_component_counts_from_the_current_time() {
        let vars = r#"
<local_variable id="v:age" datatype="int" version="1" comment="c"><time_difference format_2="seconds_since_epoch"><literal_component datatype="int">0</literal_component></time_difference></local_variable>
<local_variable id="v:bad" datatype="int" version="1" comment="c"><time_difference><literal_component>2009-02-30</literal_component><literal_component>20090101</literal_component></time_difference></local_variable>"#;
        let d = doc("", "", "", "", vars);
        let dir = tempfile::tempdir().unwrap();
        let target = Target::offline(dir.path()).unwrap();
        let regexes = RegexCache::new();
        let shared = SharedCache::new();
        let e = Evaluator::new(&d, &target, &regexes, &shared, HashMap::new());

        let before = jiff::Timestamp::now().as_second();
        let age = e.variable("v:age");
        let after = jiff::Timestamp::now().as_second();
        assert_eq!(age.flag, Flag::Complete, "{:?}", age.message);
        let seconds: i64 = age.values[0].parse().unwrap();
        assert!(
            (before..=after).contains(&seconds),
            "{seconds} not in {before}..={after}"
        );

        let bad = e.variable("v:bad");
        assert_eq!(bad.flag, Flag::Error);
        let message = bad.message.as_deref().unwrap();
        assert!(
            message.contains("`v:bad`") && message.contains("`2009-02-30`"),
            "{message}"
        );
    }

    #[test]
    fn existence_without_states() {
        let tests = [
            var_test("t:none", "v:words", None, "none_exist", "all"),
            var_test("t:any", "v:words", None, "any_exist", "all"),
            var_test("t:one", "v:words", None, "only_one_exists", "all"),
        ]
        .concat();
        let objects = [
            var_object("t:none", "v:words"),
            var_object("t:any", "v:words"),
            var_object("t:one", "v:words"),
        ]
        .concat();
        let defs = [
            def("d:none", r#"><criterion test_ref="t:none"/>"#),
            def("d:any", r#"><criterion test_ref="t:any"/>"#),
            def("d:one", r#"><criterion test_ref="t:one"/>"#),
        ]
        .concat();
        let d = doc(&defs, &tests, &objects, "", VARS);
        assert_eq!(eval(&d, "d:none"), OvalResult::False);
        assert_eq!(eval(&d, "d:any"), OvalResult::True);
        assert_eq!(eval(&d, "d:one"), OvalResult::True);
    }
}
